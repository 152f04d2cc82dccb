package engine

// IgnoreAppendLimit makes the engine send messages over the destination's
// APPENDLIMIT, so that a test sees the server refuse them.
func IgnoreAppendLimit(o *Options) { o.ignoreAppendLimit = true }

// Small windows, so that every test works its folders in several windows
// of UIDs, as a large folder is.
func init() { windowMessages = 37 }
