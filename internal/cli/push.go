package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aigis-sec/aigis/signing/manifest"
)

func newPushCmd(stdout, stderr io.Writer) *cobra.Command {
	var registryURL, repo, typ, branch, message string
	c := &cobra.Command{
		Use:   "push DIR",
		Short: "Push a model or dataset folder to an aigis registry, where it is scanned and waits for approval",
		Long: `Push every file of DIR (except .git) to an aigis registry as a new revision
of REPO. Files the registry already holds are not uploaded again. The
registry scans the revision on ingest; reviewers approve it, and only then is
it served. The token comes from $AIGIS_TOKEN, else $HF_TOKEN, and needs the
publisher role on the repository's namespace.

Exit codes: 0 pushed; 2 usage error; 3 the registry refused or could not be
reached.`,
		Example: `  AIGIS_TOKEN=aigis_pat_… aigis push ./my-model --registry http://127.0.0.1:8080 --repo acme/my-model`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if registryURL == "" || repo == "" {
				return usagef("push needs --registry URL and --repo org/name")
			}
			if typ != "model" && typ != "dataset" {
				return usagef("--type: model or dataset")
			}
			token := os.Getenv("AIGIS_TOKEN")
			if token == "" {
				token = os.Getenv("HF_TOKEN")
			}
			return push(cmd.Context(), stdout, args[0], strings.TrimRight(registryURL, "/"), repo, typ, branch, message, token)
		},
	}
	c.Flags().StringVar(&registryURL, "registry", os.Getenv("HF_ENDPOINT"), "registry URL (default $HF_ENDPOINT)")
	c.Flags().StringVar(&repo, "repo", "", "repository id, org/name")
	c.Flags().StringVar(&typ, "type", "model", "model or dataset")
	c.Flags().StringVar(&branch, "branch", "main", "branch the revision is pushed to")
	c.Flags().StringVar(&message, "message", "", "commit message, recorded in the audit log")
	return c
}

type pushFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	abs    string
}

func push(ctx context.Context, stdout io.Writer, dir, base, repo, typ, branch, message, token string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return usagef("%s is not a folder", dir)
	}
	// The manifest hasher reads the files in parallel and refuses links;
	// .git folders are not pushed, every other file is.
	m, err := manifest.Hash(ctx, dir, manifest.Options{IncludeGitPaths: true, Ignore: []string{".git"}})
	if err != nil {
		return usagef("read %s: %v", dir, err)
	}
	var files []pushFile
	for _, r := range m.Resources {
		if strings.Contains("/"+r.Name+"/", "/.git/") {
			continue
		}
		files = append(files, pushFile{Path: r.Name, SHA256: hex.EncodeToString(r.Digest), abs: filepath.Join(dir, filepath.FromSlash(r.Name))})
	}
	if len(files) == 0 {
		return usagef("%s has no files to push", dir)
	}
	kind := "models"
	if typ == "dataset" {
		kind = "datasets"
	}
	org, name, ok := strings.Cut(repo, "/")
	if !ok {
		return usagef("--repo %q: use org/name", repo)
	}
	repoURL := base + "/api/aigis/repos/" + kind + "/" + url.PathEscape(org) + "/" + url.PathEscape(name)
	client := &http.Client{}
	do := func(req *http.Request) (*http.Response, error) {
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return client.Do(req)
	}
	uploaded := 0
	for i := range files {
		f := &files[i]
		sum := f.SHA256
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, repoURL+"/blobs/"+sum, nil)
		resp, err := do(req)
		if err != nil {
			return fmt.Errorf("registry %s: %w", base, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			continue
		}
		if resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("registry refused %s: %s %s", f.Path, resp.Status, resp.Header.Get("X-Error-Message"))
		}
		fh, err := os.Open(f.abs)
		if err != nil {
			return err
		}
		st, _ := fh.Stat()
		req, _ = http.NewRequestWithContext(ctx, http.MethodPut, repoURL+"/blobs/"+sum, fh)
		req.ContentLength = st.Size()
		resp, err = do(req)
		fh.Close()
		if err != nil {
			return fmt.Errorf("upload %s: %w", f.Path, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("upload %s: %s %s", f.Path, resp.Status, bytes.TrimSpace(msg))
		}
		uploaded++
	}
	body, _ := json.Marshal(map[string]any{"branch": branch, "message": message, "files": files})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, repoURL+"/commits", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := do(req)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Commit, Status, Error string
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("commit refused: %s %s", resp.Status, out.Error)
	}
	fmt.Fprintf(stdout, "pushed %s@%s (%d files, %d uploaded): %s — it is scanned now and needs a reviewer's approval before it is served\n",
		repo, out.Commit, len(files), uploaded, out.Status)
	return nil
}
