package api

import (
	"net/http"

	"github.com/ferryhq/ferry/internal/projects"
)

func (s *server) planWaves(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	var in projects.WavePlanInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	plan, err := s.svc.PlanWaves(r.Context(), p.ID, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wavePlanOut(p.ID, plan))
}

func (s *server) acceptWaves(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	var in projects.WaveAcceptInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	res, err := s.svc.AcceptWaves(r.Context(), p.ID, in)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.AlreadyAccepted {
		status = http.StatusOK
	}
	return writeJSON(w, status, waveAcceptOut(res))
}

func (s *server) listWaves(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	ws, err := s.svc.Waves(r.Context(), p.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"waves": wavesOut(ws)})
}
