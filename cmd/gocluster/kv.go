package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/gocluster/cluster/control"
)

const kvUsage = "gocluster kv: say get KEY, put KEY VALUE, del KEY, list [PREFIX] or watch [PREFIX]"

// cmdKV is gocluster kv get|put|del|list|watch: the cluster's shared state.
func cmdKV(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("kv")
	asJSON := fs.Bool("json", false, "print entries as JSON lines")
	c, err := dialFlags(ctx, fs, args, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	a := fs.Args()
	if len(a) == 0 {
		return usageErr(kvUsage)
	}
	op, a := a[0], a[1:]
	switch {
	case op == "get" && len(a) == 1:
		e, ok, err := c.KVGet(ctx, a[0])
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("gocluster: kv get %q: no such key", a[0])
		}
		return printEntry(stdout, e, *asJSON, true)
	case op == "put" && len(a) == 2:
		rev, err := c.KVPut(ctx, a[0], []byte(a[1]))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revision %d\n", rev)
		return nil
	case op == "del" && len(a) == 1:
		rev, err := c.KVDelete(ctx, a[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revision %d\n", rev)
		return nil
	case op == "list" && len(a) <= 1:
		es, err := c.KVList(ctx, first(a))
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := printEntry(stdout, e, *asJSON, false); err != nil {
				return err
			}
		}
		return nil
	case op == "watch" && len(a) <= 1:
		err := c.KVWatch(ctx, first(a), func(ev control.WatchEvent) error {
			if *asJSON {
				return json.NewEncoder(stdout).Encode(ev)
			}
			_, err := fmt.Fprintf(stdout, "%s %s %s (revision %d)\n", ev.Op, ev.Key, valueText(ev.Value), ev.Rev)
			return err
		})
		if ctx.Err() != nil {
			return nil // interrupted: the usual end of a watch
		}
		return err
	}
	return usageErr(kvUsage)
}

func first(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return a[0]
}

// printEntry prints a value alone (get) or KEY VALUE (list).
func printEntry(w io.Writer, e control.Entry, asJSON, alone bool) error {
	var err error
	switch {
	case asJSON:
		err = json.NewEncoder(w).Encode(e)
	case alone:
		_, err = fmt.Fprintln(w, valueText(e.Value))
	default:
		_, err = fmt.Fprintf(w, "%s %s\n", e.Key, valueText(e.Value))
	}
	return err
}

// valueText shows text as it is and binary values quoted.
func valueText(v []byte) string {
	if utf8.Valid(v) {
		return string(v)
	}
	return strconv.Quote(string(v))
}
