// Package resourcelist reads and writes the ResourceList a KRM function
// gets on stdin and gives back on stdout, as kustomize and kpt send it, and
// as kyaml's framework reads and writes it, byte for byte where it matters.
//
// What it guarantees:
//
//   - Items that no fix changes are written back as the bytes they came as,
//     comments, quoting, key order and indentation included; a changed item,
//     the functionConfig and the results are written as kyaml writes them.
//   - Each item is parsed on its own, with the line numbers, comments and
//     columns it has in the whole list, only when the function reads it, and
//     let go when it is done with it (Item).
//   - An input it cannot be sure to read item by item as kyaml does (JSON or
//     flow style, comments or other lines between the items, a carriage
//     return, an item that does not parse on its own or that kyaml would
//     reconcile) goes through kyaml's own reader and writer
//     (framework.Execute) instead, which answers as it always has, errors
//     included: the function's output is the same either way, apart from the
//     bytes of the items it leaves alone.
//
// It knows nothing of any rule: a Function gets the functionConfig and the
// items and says which to write. Execute runs it as kustomize and kpt do,
// Standalone as `fn config.yaml [file|-]...`, and Main is a function's
// command, both ways.
package resourcelist
