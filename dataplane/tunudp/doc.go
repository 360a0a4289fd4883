// Package tunudp is Vigil's real dataplane: inner packets are read from and written to a TUN
// device, ESP travels in UDP (RFC 3948, port 4500, sharing the socket with IKE through the
// non-ESP marker) or in raw IP protocol 50, and IKE arrives on port 500 and 4500.
//
// Workers: one goroutine reads the TUN device in batches (with the kernel's virtio-net offloads,
// so TSO super-packets arrive already split by golang.zx2c4.com/wireguard/tun), classifies each
// packet with the shared SA database (package sad), seals it in place and sends the batch with
// sendmmsg (merging runs of equal-sized datagrams with UDP GSO). One goroutine per socket
// receives batches with recvmmsg, demultiplexes IKE, keepalives and ESP, opens ESP in place
// and writes the inner packets to the TUN device in one batch (which the TUN library coalesces
// with GRO where it can). NAT-T sockets enable UDP GRO when the kernel has it: a received
// message may then hold several datagrams, which are split and handled one by one; all but the
// first are copied into buffers of their own first, because the TUN library merges TCP segments
// by growing a packet over the rest of its buffer.
//
// Sockets, the TUN device and routes live in the network namespace of the thread that called
// Open; later calls that create sockets or change routes switch to that namespace on a
// dedicated thread, so a Dataplane can be driven from any goroutine.
package tunudp
