// Package config loads and validates the Vigil configuration file.
//
// The file is TOML. Global settings live in the [global] table (with the
// [global.retransmit] and [global.invalid_spi] sub-tables); every tunnel is
// a table under "tunnel" whose key is the tunnel name:
//
//	[global]
//	socket = "/run/vigil/vigil.sock"
//
//	[global.retransmit]
//	timeout = "500ms"
//
//	[tunnel.site-b]
//	local_addr = "192.0.2.1"
//	remote_addr = "192.0.2.2"
//	local_id = "fqdn:a.example"
//	remote_id = "fqdn:b.example"
//	psk_file = "site-b.psk"          # or psk = "..."
//	local_subnets = ["10.1.0.0/16"]
//	remote_subnets = ["10.2.0.0/16"]
//	ike_proposals = "aes128gcm16-prfsha256-x25519"
//	esp_proposals = "aes128gcm16"
//	ike_lifetime = "4h"
//	child_lifetime = "1h"
//	start_action = "start"
//
// [Load] and [Parse] check the whole file and report every problem they find,
// each as an [*Error] carrying the file name and line number; several
// problems are returned joined with [errors.Join] (see [Errors]). Unknown
// keys are rejected, with a suggestion when a valid key is close.
//
// Pre-shared keys are held in a [Secret], whose every textual form
// (fmt verbs, JSON, text marshalling, slog) is "<redacted>"; they never
// appear in error messages.
package config
