package redis

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/gocluster/cluster/kv"
	"github.com/redis/rueidis"
)

// Config says which Redis (or Valkey) holds a store and how to reach it.
// The zero value of every field but Addrs (or URL) is a sound default.
type Config struct {
	// URL, if set, gives the address, user, password, database and TLS
	// at once, as redis://user:password@host:port/db or rediss:// for
	// TLS (see [ParseURL]); fields set beside it override it.
	URL string
	// Addrs are the server's host:port addresses (the first that answers
	// is used; a Redis Cluster is not supported).
	Addrs []string
	// Username and Password authenticate (ACL user, or the password alone
	// for requirepass).
	Username, Password string
	// DB is the database number (SELECT).
	DB int
	// TLS, if set, connects with TLS.
	TLS *tls.Config
	// Name names the store: its keys in Redis all start with {Name}: (one
	// hash slot). Machines that share a Name share the store. Letters,
	// digits, '.', '_' and '-'; default "gocluster".
	Name string
	// LogLength is about how many writes the change log keeps (Redis
	// trims it, XADD MAXLEN ~): a machine cut off for longer than that
	// many writes catches up by reading the whole store. Default 100000.
	LogLength int
	// Lease is how long a machine's owned keys and a load's lock outlive
	// the machine or the loader that stopped renewing them. Default 10 s.
	Lease time.Duration
	// DialTimeout bounds connecting, and so how long New (and a write
	// while Redis is unreachable) waits before failing. Default 5 s.
	DialTimeout time.Duration
	// Logger gets the backend's reports (lost connection, resync); nil
	// means slog.Default().
	Logger *slog.Logger
}

// ParseURL returns the Config of a redis:// or rediss:// URL
// (redis://user:password@host:port/db).
func ParseURL(url string) (Config, error) {
	if _, err := rueidis.ParseURL(url); err != nil {
		return Config{}, fmt.Errorf("redis: %w", err)
	}
	return Config{URL: url}, nil
}

// Store returns the function a cluster's Config takes as its Store: it
// opens the backend with cfg in the primary, once (cluster.New calls it),
// and its error fails cluster.New.
func Store(cfg Config) func(kv.Limits) (kv.Backend, error) {
	return func(l kv.Limits) (kv.Backend, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*cfg.withDefaults().DialTimeout)
		defer cancel()
		return New(ctx, cfg, l)
	}
}

var storeName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "gocluster"
	}
	if c.LogLength <= 0 {
		c.LogLength = 100000
	}
	if c.Lease <= 0 {
		c.Lease = 10 * time.Second
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// options checks c and returns the client's options.
func (c Config) options() (rueidis.ClientOption, error) {
	var o rueidis.ClientOption
	if c.URL != "" {
		var err error
		if o, err = rueidis.ParseURL(c.URL); err != nil {
			return o, fmt.Errorf("redis: %w: %w", ErrConfig, err)
		}
	}
	if len(c.Addrs) > 0 {
		o.InitAddress = c.Addrs
	}
	if len(o.InitAddress) == 0 {
		return o, fmt.Errorf("redis: %w: no address: set Config.Addrs or Config.URL", ErrConfig)
	}
	if !storeName.MatchString(c.Name) {
		return o, fmt.Errorf("redis: %w: store name %q: use 1 to 128 letters, digits, '.', '_' or '-'", ErrConfig, c.Name)
	}
	if c.Username != "" {
		o.Username = c.Username
	}
	if c.Password != "" {
		o.Password = c.Password
	}
	if c.DB != 0 {
		o.SelectDB = c.DB
	}
	if c.TLS != nil {
		o.TLSConfig = c.TLS
	}
	o.DisableCache = true      // the store replicates through its log
	o.ForceSingleClient = true // one server; no cluster discovery
	// A command fails at once when the connection is lost: retried, the
	// read of the log would wait for the server to come back (the follower
	// would never know it was cut off, nor that the server restarted),
	// and Sync would wait instead of failing with ErrUnavailable.
	o.DisableRetry = true
	o.Dialer.Timeout = c.DialTimeout
	o.ConnWriteTimeout = c.DialTimeout
	return o, nil
}
