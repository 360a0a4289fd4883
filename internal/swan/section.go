package swan

import (
	"fmt"
	"slices"
	"strings"
)

// section is an ordered strongswan.conf / swanctl.conf section.
type section struct {
	kvs  [][2]string
	subs []named
}

// named is a named subsection.
type named struct {
	name string
	s    *section
}

// set sets key to value, replacing an earlier value in place.
func (s *section) set(key, value string) {
	for i := range s.kvs {
		if s.kvs[i][0] == key {
			s.kvs[i][1] = value
			return
		}
	}
	s.kvs = append(s.kvs, [2]string{key, value})
}

// sub returns the subsection name, creating it if needed.
func (s *section) sub(name string) *section {
	for _, n := range s.subs {
		if n.name == name {
			return n.s
		}
	}
	n := named{name, &section{}}
	s.subs = append(s.subs, n)
	return n.s
}

// write renders the section body at the given indentation depth.
func (s *section) write(b *strings.Builder, depth int) error {
	ind := strings.Repeat("\t", depth)
	for _, kv := range s.kvs {
		v, err := quote(kv[1])
		if err != nil {
			return fmt.Errorf("swan: option %s: %w", kv[0], err)
		}
		fmt.Fprintf(b, "%s%s = %s\n", ind, kv[0], v)
	}
	for _, n := range s.subs {
		fmt.Fprintf(b, "%s%s {\n", ind, n.name)
		if err := n.s.write(b, depth+1); err != nil {
			return err
		}
		fmt.Fprintf(b, "%s}\n", ind)
	}
	return nil
}

// quote returns v as a strongswan.conf value: verbatim when it only holds
// harmless characters (spaces only inside), double-quoted (with \" and \\ escaped) otherwise.
func quote(v string) (string, error) {
	if strings.ContainsAny(v, "\n\r\x00") {
		return "", fmt.Errorf("value contains a line break or NUL")
	}
	// Unquoted values are trimmed by the parser, so edge spaces need quotes.
	safe := v != "" && strings.TrimSpace(v) == v
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/%@+* ", r)) {
			safe = false
			break
		}
	}
	if safe {
		return v, nil
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`, nil
}

// sortedKeys returns m's keys in order, for deterministic output.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
