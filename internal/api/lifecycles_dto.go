package api

// ItemDeletion names the items of a project to delete at once.
type ItemDeletion struct {
	IDs []int64 `json:"ids"`
}
