package server

import "net/http"

// registerUI mounts the web UI under /ui/.
func (s *Server) registerUI(mux *http.ServeMux) {
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the web UI is not built yet", http.StatusNotFound)
	})
}
