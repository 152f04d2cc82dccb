package engine

// LabelOptions say how a Gmail source's labels become folders of a
// destination without labels.
type LabelOptions struct {
	// FirstLabelOnly puts a message with several labels in the folder of
	// its first label only; by default it goes to the folder of each, as
	// Gmail's own IMAP view shows it.
	FirstLabelOnly bool
	// SpamAndTrash copies [Gmail]/Spam and [Gmail]/Trash, skipped by default.
	SpamAndTrash bool
}
