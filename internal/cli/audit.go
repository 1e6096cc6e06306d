package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/aigis-sec/aigis/registry/audit"
	"github.com/aigis-sec/aigis/registry/store"
)

func newAuditCmd(stdout, stderr io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Verify and export the audit log of aigis serve",
	}
	c.AddCommand(newAuditVerifyCmd(stdout, stderr), newAuditProofCmd(stdout))
	return c
}

// auditPaths finds the log, the public key and the published checkpoints.
func auditPaths(data, logDir, keyPath string) (string, string, string) {
	if logDir == "" {
		logDir = filepath.Join(data, "audit")
	}
	if keyPath == "" {
		keyPath = filepath.Join(data, "keys", "audit.pub")
	}
	return logDir, keyPath, filepath.Join(data, "checkpoints")
}

func newAuditVerifyCmd(stdout, stderr io.Writer) *cobra.Command {
	var data, logDir, keyPath, db, in string
	var checkpoints []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit log's Merkle tree and check every signed checkpoint against it",
		Long: `Recompute the audit log's Merkle tree (RFC 6962) from its records, compare it
with the stored hashes, check every published checkpoint's signature and that
the current log extends it, and report every changed, removed or reordered
entry by number.

Checkpoints are read from DATA/checkpoints (aigis serve publishes one whenever
the log grows) and from every --checkpoint file; keep copies outside the
server, since they are what makes a rewrite of the whole log detectable.
Verify a stopped server's log, or a copy: an append in progress shows as a
torn record.

A log kept in the database (aigis serve --db …, or --audit-in database) is
verified with --db URL, or --data DIR --in database for the embedded SQLite
database.

Exit codes: 0 verified; 1 the log or a checkpoint does not verify; 2 usage
error; 3 the log could not be read.`,
		Example: `  aigis audit verify --data ./aigis-data
  aigis audit verify --db postgres://aigis@db/aigis --key audit.pub --checkpoint published/000000001234.note
  aigis audit verify --log /backup/audit --key audit.pub --checkpoint witness/000000001234.note`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logDir, keyPath, cpDir := auditPaths(data, logDir, keyPath)
			vb, err := os.ReadFile(keyPath)
			if err != nil {
				return usagef("audit public key: %v (pass --key, or --data of the server)", err)
			}
			verifier, err := note.NewVerifier(strings.TrimSpace(string(vb)))
			if err != nil {
				return usagef("audit public key %s: %v", keyPath, err)
			}
			shared := db != "" || in == "database"
			if !shared {
				if _, err := os.Stat(filepath.Join(logDir, audit.RecordsFile)); err != nil {
					return usagef("no audit log in %s (pass --data or --log; a log kept in the database needs --db or --in database)", logDir)
				}
			}
			files := append([]string(nil), checkpoints...)
			if data != "" {
				found, _ := filepath.Glob(filepath.Join(cpDir, "*.note"))
				sort.Strings(found)
				files = append(files, found...)
			}
			var cps [][]byte
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					return usagef("checkpoint: %v", err)
				}
				cps = append(cps, b)
			}
			var rep *audit.Report
			if shared {
				st, err := openAuditStore(cmd.Context(), db, data)
				if err != nil {
					return err
				}
				defer st.Close()
				ctx := cmd.Context()
				if ctx == nil {
					ctx = context.Background()
				}
				rep, err = audit.VerifyBackend(ctx, st.(audit.Backend), verifier, cps)
				if err != nil {
					return err
				}
			} else if rep, err = audit.Verify(logDir, verifier, cps); err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(stdout, rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Problems {
					fmt.Fprintf(stdout, "PROBLEM %s\n", p)
				}
				if rep.OK() {
					fmt.Fprintf(stdout, "audit log verified: %d entries, %d checkpoints signed by %s and consistent with the log\n", rep.Size, len(cps), verifier.Name())
				} else {
					fmt.Fprintf(stdout, "audit log does NOT verify: %d problems in %d entries\n", len(rep.Problems), rep.Size)
				}
			}
			if !rep.OK() {
				return exitError{ExitFindings}
			}
			return nil
		},
	}
	c.Flags().StringVar(&data, "data", "", "data folder of aigis serve (log in DATA/audit, key DATA/keys/audit.pub, checkpoints DATA/checkpoints)")
	c.Flags().StringVar(&logDir, "log", "", "audit log folder (instead of --data)")
	c.Flags().StringVar(&keyPath, "key", "", "checkpoint verifier key file (sumdb note verifier key)")
	c.Flags().StringArrayVar(&checkpoints, "checkpoint", nil, "a signed checkpoint kept elsewhere; repeatable")
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	c.Flags().StringVar(&db, "db", "", "PostgreSQL URL of a registry whose log is kept in the database (aigis serve --db)")
	c.Flags().StringVar(&in, "in", "files", "files, or database (the SQLite database in --data, for aigis serve --audit-in database)")
	return c
}

func newAuditProofCmd(stdout io.Writer) *cobra.Command {
	var data, logDir, db, in string
	var index, size int64
	c := &cobra.Command{
		Use:   "proof --index N",
		Short: "Export an inclusion proof of one audit entry (check it with tlog.CheckRecord against a checkpoint)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r audit.Reader
			if db != "" || in == "database" {
				st, err := openAuditStore(cmd.Context(), db, data)
				if err != nil {
					return err
				}
				defer st.Close()
				r = audit.NewShared(st.(audit.Backend), nil)
			} else {
				logDir, _, _ := auditPaths(data, logDir, "")
				lg, err := audit.Open(logDir, nil)
				if err != nil {
					return err
				}
				defer lg.Close()
				r = lg
			}
			p, err := audit.ExportProof(r, index, size)
			if err != nil {
				return usageError{err}
			}
			return writeJSON(stdout, p)
		},
	}
	c.Flags().StringVar(&db, "db", "", "PostgreSQL URL of a registry whose log is kept in the database")
	c.Flags().StringVar(&in, "in", "files", "files, or database (the SQLite database in --data)")
	c.Flags().StringVar(&data, "data", "", "data folder of aigis serve")
	c.Flags().StringVar(&logDir, "log", "", "audit log folder (instead of --data)")
	c.Flags().Int64Var(&index, "index", 0, "entry number")
	c.Flags().Int64Var(&size, "size", 0, "tree size the proof is for (default: the whole log)")
	return c
}

// openAuditStore opens the database that keeps a shared audit log.
func openAuditStore(ctx context.Context, db, data string) (store.Store, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if db != "" {
		return store.OpenPostgres(ctx, db)
	}
	if data == "" {
		return nil, usagef("a log in the database needs --db URL, or --data DIR for the SQLite database there")
	}
	return store.OpenSQLite(filepath.Join(data, "aigis.db"))
}
