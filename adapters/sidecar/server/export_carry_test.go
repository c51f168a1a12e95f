package server

// SetCarryingHook makes the server built from o call f before a restore
// carries over each kept path, with its name; an error fails the restore.
func SetCarryingHook(o *Options, f func(name string) error) {
	if o.hooks == nil {
		o.hooks = &hooks{}
	}
	o.hooks.carrying = f
}
