-- wrk script: print requests/s, latency p50/p99 and errors as one JSON line.
done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local errs = summary.errors.connect + summary.errors.read + summary.errors.write
             + summary.errors.status + summary.errors.timeout
  io.write(string.format('{"rps":%.1f,"p50":%.1f,"p99":%.1f,"errors":%d,"requests":%d}\n',
    summary.requests / secs, latency:percentile(50), latency:percentile(99), errs, summary.requests))
end
