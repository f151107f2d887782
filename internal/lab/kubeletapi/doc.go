// Package kubeletapi serves the kubelet HTTP API of a lab node: the part of
// it the apiserver proxies `kubectl exec` and `kubectl logs` to, at
// https://<node InternalIP>:10250.
//
// The node agent implements Runtime (and optionally ContainerChecker); New
// wraps it in a Server, whose Serve runs the API over TLS with a certificate
// such as SelfSignedCert makes.
//
// Exec is served by the kubelet's own streaming code
// (k8s.io/kubelet/pkg/cri/streaming/remotecommand) for SPDY, which the
// apiserver always uses towards a kubelet, and for WebSocket clients of
// protocols v1 to v4; clients offering v5.channel.k8s.io over WebSocket
// (client-go's NewWebSocketExecutor) are served here. The exit code of the
// command reaches the client as an exec.CodeExitError when the Runtime
// returns it as documented on Runtime.Exec.
//
// Logs are plain files: timestamps, sinceSeconds and sinceTime are accepted
// but not honoured, and follow polls the file until the container is done.
// The kubelet's /run, /attach and /portForward answer 501.
//
// There is no authentication or authorisation: a lab node's address is
// reachable only from the machine's own network namespaces.
package kubeletapi
