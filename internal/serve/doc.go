// Package serve is the scaffolding the moetron servers (webhookserver,
// workerserver, botserver) share, so that each states only what is its
// own:
//
//   - NewHTTPServer: an http.Server with read, write and idle timeouts and
//     a header limit, its errors logged.
//   - HTTP: http.Servers on their listeners in the background, stopped
//     gracefully within a deadline (the lifecycle of every Server.Run:
//     serve until the context ends, then drain).
//   - Healthz and Ready: the /healthz and /readyz answers, with the
//     readiness states ready, degraded and not ready, the state also in
//     the X-Moetron-Readiness header.
//   - NewRegistry: the Prometheus registry a server owns when its caller
//     gives none.
//   - Main: the signal handling and exit status of the binaries in
//     examples/.
package serve
