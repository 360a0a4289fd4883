// Package espsa plugs the ESP transforms of package esp into the SA database (package sad).
package espsa
