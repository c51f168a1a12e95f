package s3

// PartBytesInUse reports the part buffers s has handed to running Puts.
func PartBytesInUse(s *Store) int64 { return s.parts.bytesInUse() }

// PartsOutsideHeap reports whether part buffers live outside the Go heap, where
// the memory bound test has to add them to what the heap shows.
const PartsOutsideHeap = partsOutsideHeap

// SetListPageSize makes List and RemoveAbandoned ask for n entries per request.
func SetListPageSize(s *Store, n int32) { s.listPageSize = n }
