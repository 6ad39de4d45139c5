//go:build race

package standin

// raceEnabled builds the stand-in that the HA tests run with the race
// detector too, when they run with it.
const raceEnabled = true
