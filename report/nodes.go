package report

import (
	"fmt"
	"io"
	"strings"
)

// NodeMatrix is the node x target matrix of diagnose's per-node checks: the same network checks
// (ClusterIP, NodePort of each node, DNS, each endpoint's pod IP) run from a helper on each node.
type NodeMatrix struct {
	// Reason says why the checks ran from several nodes ("the ready endpoints span 2 nodes").
	Reason string `json:"reason"`
	// Selection says how the nodes were chosen ("the nodes of the endpoints and the helper's own",
	// "--nodes a,b", "--nodes all").
	Selection string `json:"selection"`
	// Targets are the columns: what every node's helper tested.
	Targets []NodeTarget `json:"targets"`
	// Rows are the nodes the checks ran from, in the order of the selection.
	Rows []NodeRow `json:"rows"`
	// Notes are what was left out (nodes over the bound, targets over the bound).
	Notes []string `json:"notes,omitempty"`
}

// Node target kinds.
const (
	NodeTargetClusterIP = "clusterIP"
	NodeTargetNodePort  = "nodePort"
	NodeTargetDNS       = "dns"
	NodeTargetPod       = "pod"
)

// NodeTarget is one column of the matrix.
type NodeTarget struct {
	// ID is unique in the matrix ("clusterIP:80/TCP", "nodePort:node-2:30080/TCP", "dns", "pod:web-1:8080/TCP").
	ID string `json:"id"`
	// Kind is clusterIP, nodePort, dns or pod.
	Kind string `json:"kind"`
	// Address is what was tested: ip:port, or the DNS name.
	Address string `json:"address"`
	// Name is the pod of a pod target.
	Name string `json:"name,omitempty"`
	// Node is the node of a pod or NodePort target.
	Node string `json:"node,omitempty"`
}

// Label is the target as the table shows it.
func (t NodeTarget) Label() string {
	switch t.Kind {
	case NodeTargetPod:
		return fmt.Sprintf("pod/%s %s (on %s)", t.Name, t.Address, orDash(t.Node))
	case NodeTargetNodePort:
		return fmt.Sprintf("nodePort %s (%s)", t.Address, t.Node)
	case NodeTargetDNS:
		return "dns " + t.Address
	}
	return t.Kind + " " + t.Address
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Cell states.
const (
	CellOK = "ok"
	// CellFail is a check that failed (Failure says how).
	CellFail = "fail"
	// CellExpected is a failure the Service's traffic policy predicts (dropped by design).
	CellExpected = "expected"
	// CellNotRun is a check that did not run (the node's helper did not start, or the bound).
	CellNotRun = "not-run"
)

// NodeRow is the row of one node: where its checks ran and what they found.
type NodeRow struct {
	Node string `json:"node"`
	// From is the helper the checks ran from ("helper pod ns/name"); Error says why none ran.
	From  string `json:"from,omitempty"`
	Error string `json:"error,omitempty"`
	// LocalEndpoints counts the Service's ready endpoints on this node.
	LocalEndpoints int        `json:"localEndpoints"`
	Cells          []NodeCell `json:"cells"`
}

// NodeCell is the result of one target from one node.
type NodeCell struct {
	Target string `json:"target"`
	// State is ok, fail, expected (a drop the traffic policy predicts) or not-run.
	State string `json:"state"`
	// Failure is the failure class of a failed check (timeout, refused, unreachable, ...).
	Failure string `json:"failure,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Cell returns the cell of target id in the row.
func (r NodeRow) Cell(id string) (NodeCell, bool) {
	for _, c := range r.Cells {
		if c.Target == id {
			return c, true
		}
	}
	return NodeCell{}, false
}

func (c NodeCell) text() string {
	switch c.State {
	case CellOK:
		return "ok"
	case CellExpected:
		return "dropped (" + orDash(c.Failure) + ", by design)"
	case CellNotRun:
		return "not run"
	}
	if c.Failure != "" {
		return "FAIL " + c.Failure
	}
	return "FAIL"
}

// WriteNodeMatrix prints the matrix: one row per target, one column per node.
func WriteNodeMatrix(w io.Writer, m *NodeMatrix) error {
	if m == nil || len(m.Rows) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nPER-NODE CHECKS  %s; nodes: %s\n", Sanitize(m.Reason), Sanitize(m.Selection))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	headers := []string{"target"}
	nodeRow := []string{"from node"}
	helperRow := []string{"helper"}
	localRow := []string{"local ready endpoints"}
	for i, r := range m.Rows {
		headers = append(headers, fmt.Sprintf("node %d", i+1))
		nodeRow = append(nodeRow, r.Node)
		from := r.From
		if r.Error != "" {
			from = "none: " + r.Error
		}
		helperRow = append(helperRow, from)
		localRow = append(localRow, fmt.Sprint(r.LocalEndpoints))
	}
	rows := [][]string{nodeRow, localRow}
	for _, t := range m.Targets {
		row := []string{t.Label()}
		for _, r := range m.Rows {
			c, ok := r.Cell(t.ID)
			if !ok {
				row = append(row, "-")
				continue
			}
			row = append(row, c.text())
		}
		rows = append(rows, row)
	}
	rows = append(rows, helperRow)
	if err := WriteTable(w, headers, rows, nil); err != nil {
		return err
	}
	for _, n := range m.Notes {
		if _, err := io.WriteString(w, "  "+Sanitize(n)+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// writeDiagnoseTable prints a diagnosis: the hops, the per-node matrix when there is one, and
// the verdict.
func writeDiagnoseTable(w io.Writer, rep *DiagnoseReport, o TableOptions) error {
	if err := writeHopRows(w, rep.Hops, o.Color, o.Wide); err != nil {
		return err
	}
	if rep.Nodes != nil {
		if err := WriteNodeMatrix(w, rep.Nodes); err != nil {
			return err
		}
	}
	if err := writeRoutes(w, rep); err != nil {
		return err
	}
	return WriteVerdict(w, rep.Verdict, o.Color)
}
