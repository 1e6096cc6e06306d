// Package integrity checks that a dataset is the one its publisher described.
//
// Two kinds of evidence are compared:
//
//   - URL lists (LAION, COYO, DataComp and anything written by img2dataset)
//     name their items by URL. The content behind a URL can change after the
//     dataset is published: Carlini et al. ("Poisoning Web-Scale Training
//     Datasets is Practical", 2023) poisoned 0.01 % of LAION-400M for $60 by
//     buying expired domains (split-view poisoning). The defence is an
//     expected hash next to every URL, checked at download time. URLChecker
//     finds the URL and hash columns, counts rows that cannot be verified and
//     collects the rows that can; Fetch downloads them (bounded, offline by
//     default: the caller opts in) and reports content that changed.
//   - Dataset cards (the YAML front-matter of a Hugging Face README.md)
//     declare how many examples each split holds. CountRows counts the rows
//     of the files, mapped to splits by the Hub's naming rules, and CheckCard
//     reports splits whose size differs from what the card declares: rows
//     were added or removed after the card was written.
//
// Findings say "suspicious, needs review", never "poisoned": a changed image
// may be a re-encoded thumbnail, a count mismatch a stale card.
package integrity
