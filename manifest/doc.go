// Package manifest reads Kubernetes manifests (YAML or JSON files, directories, stdin and
// kustomizations) into objects that remember where they came from: file, document index, the
// object's line and, on demand, the line of any field inside it.
//
// Parsing never panics and never stops at the first bad document: a YAML syntax error (tabs used
// for indentation, an unclosed flow sequence, a duplicate key) becomes a Problem with file:line and
// a hint, and the other documents are still read. Objects are converted to JSON with the same
// scalar rules as Kubernetes' own YAML reader (YAML 1.1: yes/no/on/off are booleans), so that a
// later typed decode sees exactly what the API server would.
package manifest
