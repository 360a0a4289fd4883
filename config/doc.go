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
// The main file may include others, a top-level list of glob patterns relative to its
// directory, before the first table:
//
//	include = ["tunnels.d/*.toml"]
//
// Each pattern's matches are read in name order, each file once; a pattern that matches
// nothing is no error. An included file holds [tunnel.NAME] tables only (no [global], no
// include of its own); its psk_file paths are relative to its own directory, and it must be
// mode 0600 or stricter when it holds an inline psk. Tunnel names are unique across all
// files. A [Loader] loads a configuration again reading only the included files that changed.
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
