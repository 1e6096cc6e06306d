package blob

// SetS3CopyLimits lowers the size above which Put copies with a multipart
// copy, so tests exercise UploadPartCopy without 5 GiB objects.
func SetS3CopyLimits(s *S3, max, part int64) { s.copyMax, s.copyPart = max, part }
