// Package pyparse reads Python dependency files into one neutral model: the
// requirements each declares, where (file and line), and the package
// indexes it names. It is a pure parser of hostile bytes: nothing is
// executed, nothing is fetched, every read is bounded by Limits, and what
// cannot be understood is kept as a Problem with its line, never dropped.
// Deciding whether a requirement is pinned, hashed, vulnerable or
// typosquatted is the caller's job.
//
// Formats, by Detect on the base name:
//
//   - requirements*.txt, *requirements*.in (pip-tools), constraints*.txt
//     (and, in ParseTree, *.txt / *.in in a requirements/ folder): pip's
//     format. A trailing '\' continues a line (not on a comment line);
//     '#' at the start or after whitespace starts a comment, so
//     "url#egg=x" keeps its fragment. Options: -r/-c (Includes, resolved
//     against the file's folder), -e, -i/--index-url, --extra-index-url,
//     -f/--find-links, --trusted-host (Indexes), --hash (repeatable, on the
//     requirement); other known pip options are accepted, unknown ones are
//     Problems. Requirements are PEP 508 strings, "name @ URL", bare
//     URLs/paths and VCS links (git+…@ref#egg=name); ${VAR} is kept as
//     written. The name of a bare URL comes from #egg= or the wheel/sdist
//     file name, and may be "" (a local folder).
//   - pyproject.toml: [build-system] requires (Group "build-system"),
//     [project] dependencies and optional-dependencies (Group: the extra),
//     [dependency-groups] (PEP 735; include-group entries are not copied,
//     the included group is listed under its own name), Poetry
//     dependencies, dev-dependencies and groups (Index: the source name;
//     Version when the constraint is one exact version) and
//     [[tool.poetry.source]], uv [[tool.uv.index]], index-strategy,
//     index-url/extra-index-url/find-links, [tool.uv.sources] (applied to
//     the matching requirements: URL/VCS/Ref or Index name),
//     dev-dependencies ("dev"), constraint- and override-dependencies
//     ("uv-constraint", "uv-override").
//   - poetry.lock, uv.lock, pylock.toml / pylock.<name>.toml, Pipfile.lock:
//     one Locked requirement per package, with Version, Specifier
//     "==version", all file hashes ("sha256:…"), the index it came from
//     (uv registry URL, Poetry legacy source URL, pylock index URL, Pipfile
//     index name) or its URL/VCS/Ref. Pipfile.lock _meta.sources become
//     Indexes (NoVerifySSL for verify_ssl = false).
//   - environment.yml / .yaml (conda): channels (Indexes, "conda-channel"),
//     conda MatchSpecs (Source "conda"; "channel::" goes to Index) and the
//     pip: list, read line by line as requirements (Source "requirements").
//   - setup.cfg: [options] install_requires, setup_requires
//     ("build-system"), tests_require ("tests"), [options.extras_require];
//     "file:" directives become Includes.
//
// Lines: TOML has no positions in the generic decoder, so a small scan
// finds them: the name key of each [[package]] in lock files, the quoted
// string of each PEP 508 entry, the key of each Poetry dependency.
//
// Errors: Parse returns a nil Manifest and a *SyntaxError (with its line)
// for TOML, JSON or YAML it cannot decode, and a *safeio.LimitError for a
// file over MaxFileBytes; when the lines or requirements limit is hit it
// returns the partial Manifest together with the *safeio.LimitError.
// ParseTree never stops at one bad file: it records the error as a Problem
// of that file's Manifest.
package pyparse
