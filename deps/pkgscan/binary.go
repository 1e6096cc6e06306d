package pkgscan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/aigis-sec/aigis/finding"
)

// program recognises an executable by its first bytes: ELF, PE (an MZ
// header whose e_lfanew points at "PE\0\0" inside head) or Mach-O (thin or
// fat; a fat header is told apart from a Java class file by its small
// architecture count). shared is true for shared objects and DLLs.
func program(head []byte) (format string, shared bool) {
	switch {
	case len(head) >= 18 && bytes.HasPrefix(head, []byte("\x7fELF")):
		var typ uint16
		if head[5] == 2 {
			typ = binary.BigEndian.Uint16(head[16:])
		} else {
			typ = binary.LittleEndian.Uint16(head[16:])
		}
		return "ELF", typ == 3 // ET_DYN: shared objects (and PIE programs)
	case len(head) >= 0x40 && head[0] == 'M' && head[1] == 'Z':
		off := int(binary.LittleEndian.Uint32(head[0x3c:]))
		if off < 0x40 || off+24 > len(head) || !bytes.Equal(head[off:off+4], []byte("PE\x00\x00")) {
			return "", false
		}
		chars := binary.LittleEndian.Uint16(head[off+22:])
		return "PE", chars&0x2000 != 0 // IMAGE_FILE_DLL
	case len(head) >= 16:
		m := binary.BigEndian.Uint32(head)
		switch m {
		case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
			ft := binary.LittleEndian.Uint32(head[12:])
			if m == 0xfeedface || m == 0xfeedfacf {
				ft = binary.BigEndian.Uint32(head[12:])
			}
			return "Mach-O", ft == 6 || ft == 8 // MH_DYLIB, MH_BUNDLE
		case 0xcafebabe, 0xcafebabf:
			if n := binary.BigEndian.Uint32(head[4:]); n > 0 && n < 30 {
				return "Mach-O", false
			}
		}
	}
	return "", false
}

// extensionName reports whether a file name is what a compiled extension
// module or shared library is called.
func extensionName(name string) bool {
	base := strings.ToLower(name[strings.LastIndexByte(name, '/')+1:])
	return strings.HasSuffix(base, ".so") || strings.Contains(base, ".so.") || strings.HasSuffix(base, ".pyd") ||
		strings.HasSuffix(base, ".dll") || strings.HasSuffix(base, ".dylib")
}

// binary reports a bundled program.
func (s *scanner) binary(loc finding.Location, name string, head []byte) {
	format, shared := program(head)
	if format == "" {
		return
	}
	ev := map[string]string{"format": format, "member": name, "package_kind": s.kind}
	ext := extensionName(name)
	sev := finding.High
	why := "a program the package carries"
	switch {
	case ext && shared && (s.kind == kindWheel && s.platform || s.kind == kindSitePackages):
		sev, why = finding.Info, "a compiled extension module, expected in a platform wheel or an installed package"
	case ext && shared && s.kind == kindWheel:
		sev, why = finding.Medium, "a compiled library in a wheel tagged for any platform"
	case ext && shared:
		sev, why = finding.High, "a compiled library in a source distribution, not built from its source"
	case ext:
		why = "named like a library but it is not one (a " + format + " executable)"
	case s.kind == kindSdist || s.kind == kindSource:
		why = "a program in a source distribution, not built from its source"
	}
	s.add(finding.New(RuleBundledBinary, sev, loc, fmt.Sprintf("%s is an executable file (%s): %s", name, format, why), ev))
}

// shell reports scripts that pipe a download into an interpreter.
func (s *scanner) shell(loc finding.Location, name string, src []byte) {
	for i, line := range strings.Split(string(src), "\n") {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "#") {
			continue
		}
		fields := strings.FieldsFunc(l, func(r rune) bool {
			return r == ' ' || r == '\t' || r == '|' || r == ';' || r == '(' || r == ')' || r == '`' || r == '$'
		})
		download := false
		for _, f := range fields {
			if f == "curl" || f == "wget" || strings.HasSuffix(f, "/curl") || strings.HasSuffix(f, "/wget") {
				download = true
			}
		}
		if !download {
			continue
		}
		pipeTo := ""
		if j := strings.LastIndexByte(l, '|'); j >= 0 {
			after := strings.Fields(strings.TrimSpace(l[j+1:]))
			for _, a := range after {
				if a == "sudo" || strings.HasPrefix(a, "-") {
					continue
				}
				a = a[strings.LastIndexByte(a, '/')+1:]
				switch a {
				case "sh", "bash", "zsh", "dash", "python", "python3", "perl":
					pipeTo = a
				}
				break
			}
		}
		inline := strings.Contains(l, "sh -c") && (strings.Contains(l, "$(curl") || strings.Contains(l, "$(wget"))
		if pipeTo == "" && !inline {
			continue
		}
		s.add(finding.New(RuleBundledBinary, finding.High, loc,
			fmt.Sprintf("%s line %d pipes a download into a shell: %s", name, i+1, preview(l, 120)),
			map[string]string{"format": "shell", "line": fmt.Sprint(i + 1), "code": preview(l, 200)}))
		return
	}
}
