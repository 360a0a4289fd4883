// Command vigil controls a running vigild over its control socket: it shows status, tunnels,
// security associations and the event timeline, brings tunnels up and down, rekeys and deletes
// SAs, reloads the configuration, and checks configuration files offline.
//
// Exit status: 0 on success, 1 on errors (the daemon refused, cannot be reached, bad config),
// 2 on usage errors (unknown command or flag, wrong arguments, malformed SPI).
package main
