// Package pyparse reads Python dependency files — requirements.txt (and
// pip-tools .in files), pyproject.toml (PEP 621, PEP 735, Poetry, uv),
// poetry.lock, uv.lock, Pipfile.lock, pylock.toml (PEP 751), conda
// environment.yml and setup.cfg — into one neutral model: the requirements
// each declares, where (file and line), and the package indexes it names.
//
// It is a pure parser of hostile bytes: nothing is executed, nothing is
// fetched, and every read is bounded by Limits. What it cannot parse is kept
// as a Problem with its line, never dropped. Deciding whether a requirement
// is pinned, hashed, vulnerable or typosquatted is the caller's job.
package pyparse
