// Command goextender is the Go baseline of numafit's extender benchmark: the kube-scheduler
// extender a Go engineer would write instead of numafit-extender, with net/http and
// encoding/json only. It loads NodeTopology documents (numafit.io/v1) from a directory at start,
// keeps them in a map, and answers POST /filter and POST /prioritize with the same single-NUMA-node
// fit as numafit (extender/fit.c, score.c, pod_requirements.c), --align numa and
// --strategy most-allocated only.
//
//	goextender -listen 127.0.0.1:19754 -topology-dir DIR [-pprof]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"math/big"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ---- kube-scheduler extender wire format (k8s.io/kube-scheduler/extender/v1: no JSON tags, so
// the keys are the Go field names; encoding/json matches them in any letter case) ----

type ExtenderArgs struct {
	Pod       *Pod
	Nodes     *NodeList
	NodeNames *[]string
}

type ExtenderFilterResult struct {
	Nodes                      *NodeList
	NodeNames                  *[]string
	FailedNodes                map[string]string
	FailedAndUnresolvableNodes map[string]string
	Error                      string
}

type HostPriority struct {
	Host  string
	Score int64
}

// NodeList is a v1.NodeList whose nodes are passed back untouched.
type NodeList struct {
	Kind       string          `json:"kind,omitempty"`
	APIVersion string          `json:"apiVersion,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	Items      []Node          `json:"items"`
}

// Node is a v1.Node: its name, and the object as sent (the answer returns it unchanged).
type Node struct {
	Name string
	raw  json.RawMessage
}

func (n *Node) UnmarshalJSON(b []byte) error {
	var obj struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	if obj.Metadata.Name == "" {
		return errors.New("a node in Nodes.items has no metadata.name")
	}
	n.Name = obj.Metadata.Name
	n.raw = append(json.RawMessage(nil), b...) // b belongs to the decoder
	return nil
}

func (n Node) MarshalJSON() ([]byte, error) { return n.raw, nil }

// ---- v1.Pod, only what the fit reads ----

type Pod struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec *PodSpec `json:"spec"`
}

type PodSpec struct {
	InitContainers []Container  `json:"initContainers"`
	Containers     []Container  `json:"containers"`
	Overhead       ResourceList `json:"overhead"`
}

type Container struct {
	Name          string `json:"name"`
	RestartPolicy string `json:"restartPolicy"`
	Resources     struct {
		Requests ResourceList `json:"requests"`
		Limits   ResourceList `json:"limits"`
	} `json:"resources"`
}

type ResourceList map[string]Quantity

// Quantity is a Kubernetes quantity ("4", "500m", "2Gi", "1e3", or a JSON number) in milli-units.
type Quantity int64

func (q *Quantity) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	m, err := parseMilli(s)
	if err != nil {
		return err
	}
	*q = Quantity(m)
	return nil
}

var (
	binarySuffixes  = map[string]*big.Rat{}
	decimalSuffixes = map[string]*big.Rat{}
	thousand        = big.NewRat(1000, 1)
)

func init() {
	for i, s := range []string{"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"} {
		binarySuffixes[s] = new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(10*(i+1))))
	}
	for s, exp := range map[string]int64{"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18} {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(abs(exp)), nil)
		if exp < 0 {
			decimalSuffixes[s] = new(big.Rat).SetFrac(big.NewInt(1), p)
		} else {
			decimalSuffixes[s] = new(big.Rat).SetInt(p)
		}
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// parseMilli parses a quantity into milli-units, rounding up (as Quantity.MilliValue does).
func parseMilli(s string) (int64, error) {
	num, mult := s, big.NewRat(1, 1)
	if n := len(s); n >= 2 && binarySuffixes[s[n-2:]] != nil {
		num, mult = s[:n-2], binarySuffixes[s[n-2:]]
	} else if n >= 1 && decimalSuffixes[s[n-1:]] != nil {
		num, mult = s[:n-1], decimalSuffixes[s[n-1:]]
	}
	if !validNumber(num, num == s) {
		return 0, fmt.Errorf("quantity %q: not a quantity", s)
	}
	r, ok := new(big.Rat).SetString(strings.TrimPrefix(num, "+"))
	if !ok {
		return 0, fmt.Errorf("quantity %q: not a quantity", s)
	}
	r.Mul(r, mult).Mul(r, thousand)
	v := new(big.Int).Quo(r.Num(), r.Denom())
	if !r.IsInt() {
		v.Add(v, big.NewInt(1))
	}
	if !v.IsInt64() {
		return 0, fmt.Errorf("quantity %q: out of range", s)
	}
	return v.Int64(), nil
}

// validNumber: [+]digits[.digits][e[+-]digits] (the exponent only without a suffix, and small).
func validNumber(s string, exponent bool) bool {
	i, digits, dot := 0, 0, false
	if i < len(s) && s[i] == '+' {
		i++
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			digits++
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && exponent && (s[i] == 'e' || s[i] == 'E') {
		e, err := strconv.Atoi(s[i+1:])
		return err == nil && e >= -40 && e <= 40
	}
	return i == len(s)
}

// ---- what the pod needs (extender/pod_requirements.c) ----

type containerKind int

const (
	kindInit    containerKind = iota // regular init container: its resources are reused afterwards
	kindSidecar                      // init container with restartPolicy Always
	kindApp
)

type containerReq struct {
	name          string
	kind          containerKind
	exclusiveCPUs int64
	amounts       map[string]int64 // aligned needs in model units ("cpu" = exclusive CPUs)
}

type podReq struct {
	containers []containerReq
	effective  map[string]int64 // kubelet's effective request per aligned resource
	names      []string         // effective names with an amount, cpu/memory/hugepages/devices order
	aligned    bool
}

func isHugepages(name string) bool { return strings.HasPrefix(name, "hugepages-") && len(name) > 10 }

func isBytes(name string) bool { return name == "memory" || isHugepages(name) }

// isDevice: an extended resource (device plugin), a "domain/name" outside kubernetes.io.
func isDevice(name string) bool {
	i := strings.IndexByte(name, '/')
	if i <= 0 || i == len(name)-1 || strings.HasPrefix(name, "requests.") {
		return false
	}
	domain := name[:i]
	return domain != "kubernetes.io" && !strings.HasSuffix(domain, ".kubernetes.io")
}

func rank(name string) int {
	switch {
	case name == "cpu":
		return 0
	case name == "memory":
		return 1
	case isHugepages(name):
		return 2
	}
	return 3
}

func sortNames(names []string) {
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
}

// units converts milli-units to the model's unit (bytes and devices round up; a device must be
// whole).
func units(name string, milli int64) (int64, error) {
	if isDevice(name) && milli%1000 != 0 {
		return 0, fmt.Errorf("device resource %s must be a whole number", name)
	}
	v := milli / 1000
	if milli%1000 != 0 {
		v++
	}
	return v, nil
}

func podRequirements(pod *Pod) (*podReq, error) {
	if pod == nil || pod.Spec == nil {
		return nil, errors.New("Pod: spec is missing")
	}
	type raw struct{ reqCPU, limCPU, reqMem, limMem int64 }
	get := func(l ResourceList, name string) int64 {
		if q, ok := l[name]; ok {
			return int64(q)
		}
		return -1
	}
	var containers []Container
	var kinds []containerKind
	for _, c := range pod.Spec.InitContainers {
		containers = append(containers, c)
		if c.RestartPolicy == "Always" {
			kinds = append(kinds, kindSidecar)
		} else {
			kinds = append(kinds, kindInit)
		}
	}
	for _, c := range pod.Spec.Containers {
		containers = append(containers, c)
		kinds = append(kinds, kindApp)
	}
	// requests default to limits
	reqs := make([]ResourceList, len(containers))
	raws := make([]raw, len(containers))
	for i, c := range containers {
		req := ResourceList{}
		for k, v := range c.Resources.Requests {
			req[k] = v
		}
		for k, v := range c.Resources.Limits {
			if _, ok := req[k]; !ok {
				req[k] = v
			}
		}
		reqs[i] = req
		raws[i] = raw{get(req, "cpu"), get(c.Resources.Limits, "cpu"), get(req, "memory"), get(c.Resources.Limits, "memory")}
	}
	// Guaranteed (kubelet's GetPodQOS): every container has cpu and memory limits, requests equal
	guaranteed := len(containers) > 0
	for _, r := range raws {
		if r.limCPU <= 0 || r.limMem <= 0 || r.reqCPU != r.limCPU || r.reqMem != r.limMem {
			guaranteed = false
		}
	}

	p := &podReq{effective: map[string]int64{}}
	for i, c := range containers {
		cr := containerReq{name: c.Name, kind: kinds[i], amounts: map[string]int64{}}
		for name, q := range reqs[i] {
			if name == "cpu" || (name == "memory" && !guaranteed) || (name != "memory" && !isHugepages(name) && !isDevice(name)) {
				continue
			}
			v, err := units(name, int64(q))
			if err != nil {
				return nil, fmt.Errorf("container %s: %v", c.Name, err)
			}
			if v > 0 {
				cr.amounts[name] = v
			}
		}
		// exclusive CPUs: Guaranteed pod, integer cpu request (kubelet's guaranteedCPUs)
		if cpu := raws[i].reqCPU; guaranteed && cpu > 0 && cpu%1000 == 0 {
			cr.exclusiveCPUs = cpu / 1000
			cr.amounts["cpu"] = cr.exclusiveCPUs
		}
		p.containers = append(p.containers, cr)
	}
	// kubelet's effective request: max(peak of each init container beside the sidecars started
	// before it, app containers + sidecars), plus overhead (not for cpu: it runs on shared CPUs)
	for _, c := range p.containers {
		for name := range c.amounts {
			if _, done := p.effective[name]; done {
				continue
			}
			var sidecars, initPeak, app int64
			for _, d := range p.containers {
				v := d.amounts[name]
				switch d.kind {
				case kindSidecar:
					sidecars += v
				case kindInit:
					if sidecars+v > initPeak {
						initPeak = sidecars + v
					}
				case kindApp:
					app += v
				}
			}
			if app+sidecars > initPeak {
				initPeak = app + sidecars
			}
			p.effective[name] = initPeak
		}
	}
	for name, q := range pod.Spec.Overhead {
		if name == "cpu" || !(isHugepages(name) || isDevice(name) || (name == "memory" && guaranteed)) {
			continue
		}
		v, err := units(name, int64(q))
		if err != nil {
			return nil, fmt.Errorf("spec.overhead: %v", err)
		}
		p.effective[name] += v
	}
	for name, v := range p.effective {
		if v > 0 {
			p.names = append(p.names, name)
			p.aligned = true
		}
	}
	sortNames(p.names)
	return p, nil
}

// ---- NodeTopology documents (numafit.io/v1), only what the fit reads ----

type NodeTopology struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Node       string     `json:"node"`
	Generation int64      `json:"generation"`
	Kubelet    Kubelet    `json:"kubelet"`
	NumaNodes  []NumaNode `json:"numaNodes"`
}

type Kubelet struct {
	CPUManagerPolicy        string            `json:"cpuManagerPolicy"`
	CPUManagerPolicyOptions map[string]string `json:"cpuManagerPolicyOptions"`
	TopologyManagerScope    string            `json:"topologyManagerScope"`
	MemoryManagerPolicy     string            `json:"memoryManagerPolicy"`
}

type NumaNode struct {
	ID   int `json:"id"`
	CPUs struct {
		ThreadsPerCore *int `json:"threadsPerCore"`
		FreeFullCores  *int `json:"freeFullCores"`
	} `json:"cpus"`
	Resources map[string]ZoneResource `json:"resources"`
}

type ZoneResource struct {
	Allocatable int64  `json:"allocatable"`
	Available   int64  `json:"available"`
	Usable      *int64 `json:"usable"` // free VFs whose DPDK probe passed
}

// node is a loaded topology with its kubelet policy flags.
type node struct {
	topo           *NodeTopology
	cpuStatic      bool
	fullPCPUsOnly  bool
	memStatic      bool
	podScope       bool
	threadsPerCore int // the largest any NUMA node reports
}

func newNode(t *NodeTopology) *node {
	sort.SliceStable(t.NumaNodes, func(i, j int) bool { return t.NumaNodes[i].ID < t.NumaNodes[j].ID })
	n := &node{
		topo:          t,
		cpuStatic:     strings.EqualFold(t.Kubelet.CPUManagerPolicy, "static"),
		fullPCPUsOnly: strings.EqualFold(t.Kubelet.CPUManagerPolicyOptions["full-pcpus-only"], "true"),
		memStatic:     strings.EqualFold(t.Kubelet.MemoryManagerPolicy, "Static"),
		podScope:      strings.EqualFold(t.Kubelet.TopologyManagerScope, "pod"),
	}
	for _, nn := range t.NumaNodes {
		if tpc := nn.CPUs.ThreadsPerCore; tpc != nil && *tpc > n.threadsPerCore {
			n.threadsPerCore = *tpc
		}
	}
	return n
}

// checks: memory only matters where the Memory Manager is Static.
func (n *node) checks(name string) bool { return name != "memory" || n.memStatic }

// amount is what NUMA node nn offers of a resource, after numafit's rules: a device's probed
// "usable" count caps available; under full-pcpus-only only whole free cores count and
// allocatable rounds down to whole cores; missing or negative amounts are 0.
func (n *node) amount(nn *NumaNode, name string) (alloc, avail int64) {
	r, ok := nn.Resources[name]
	if !ok {
		return 0, 0
	}
	alloc, avail = r.Allocatable, r.Available
	if r.Usable != nil && *r.Usable >= 0 && *r.Usable < avail && isDevice(name) {
		avail = *r.Usable
	}
	if name == "cpu" && n.fullPCPUsOnly && nn.CPUs.ThreadsPerCore != nil && *nn.CPUs.ThreadsPerCore > 0 {
		tpc := int64(*nn.CPUs.ThreadsPerCore)
		if nn.CPUs.FreeFullCores != nil && *nn.CPUs.FreeFullCores >= 0 {
			avail = int64(*nn.CPUs.FreeFullCores) * tpc
		}
		if alloc > 0 {
			alloc = alloc / tpc * tpc
		}
	}
	if alloc < 0 {
		alloc = 0
	}
	if avail < 0 {
		avail = 0
	}
	return alloc, avail
}

// ---- the fit (extender/fit.c): every aligned need of the pod (pod scope) or of each container
// (container scope) on one NUMA node ----

type fitStatus int

const (
	fits fitStatus = iota
	failed
	unresolvable
)

type fitResult struct {
	status         fitStatus
	aligned        bool // false: the pod needs nothing aligned here and passes untouched
	zone           int  // pod scope: index of the chosen NUMA node
	containerZones []int
	reason         string
}

const maxSteps = 100000

type item struct {
	container int // -1: the whole pod
	transient bool
	need      []int64 // per resource column
}

type search struct {
	zones     []NumaNode
	names     []string
	items     []item
	have      []int64 // [zone][resource]
	choice    []int
	steps     int
	gaveUp    bool
	failDepth int
	failHave  []int64
}

func (s *search) fitsAt(z int, need []int64) bool {
	h := s.have[z*len(s.names):]
	for r, v := range need {
		if v > h[r] {
			return false
		}
	}
	return true
}

func (s *search) take(z int, need []int64, sign int64) {
	h := s.have[z*len(s.names):]
	for r, v := range need {
		h[r] -= sign * v
	}
}

func (s *search) noteFail(depth int) {
	if s.failHave == nil || depth > s.failDepth {
		s.failDepth = depth
		s.failHave = append(s.failHave[:0], s.have...)
	}
}

// dfs places items[i:], NUMA nodes in ascending id (kubelet's own order first).
func (s *search) dfs(i int) bool {
	if i == len(s.items) {
		return true
	}
	if s.steps++; s.steps > maxSteps {
		s.gaveUp = true
		return false
	}
	it := s.items[i]
	if it.transient {
		for z := range s.zones {
			if s.fitsAt(z, it.need) {
				s.choice[i] = z
				return s.dfs(i + 1)
			}
		}
		s.noteFail(i)
		return false
	}
	start := 0
	if i > 0 && !s.items[i-1].transient && equal(s.items[i-1].need, it.need) {
		start = s.choice[i-1] // identical containers: non-decreasing choices only
	}
	fitsSomewhere := false
	for z := start; z < len(s.zones); z++ {
		if !s.fitsAt(z, it.need) {
			continue
		}
		fitsSomewhere = true
		s.take(z, it.need, 1)
		s.choice[i] = z
		if s.dfs(i + 1) {
			return true
		}
		s.take(z, it.need, -1)
		if s.gaveUp {
			return false
		}
	}
	if !fitsSomewhere {
		s.noteFail(i)
	}
	return false
}

func equal(a, b []int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (s *search) run(n *node, allocatable bool) bool {
	if s.have == nil {
		s.have = make([]int64, 0, len(s.zones)*len(s.names))
	}
	s.have = s.have[:0]
	for z := range s.zones {
		for _, name := range s.names {
			alloc, avail := n.amount(&s.zones[z], name)
			if allocatable {
				avail = alloc
			}
			s.have = append(s.have, avail)
		}
	}
	s.steps, s.gaveUp, s.failDepth, s.failHave = 0, false, 0, nil
	return s.dfs(0)
}

// reason: "no NUMA node fits cpu=4 hugepages-1Gi=4Gi; closest numa1: cpu 2/4 free".
func (s *search) reason(p *podReq, empty bool) string {
	it := s.items[0]
	if s.failDepth < len(s.items) {
		it = s.items[s.failDepth]
	}
	var b strings.Builder
	if empty {
		b.WriteString("even when empty, no NUMA node could hold ")
	} else {
		b.WriteString("no NUMA node fits ")
	}
	sep := ""
	for r, v := range it.need {
		if v > 0 {
			fmt.Fprintf(&b, "%s%s=%s", sep, s.names[r], formatAmount(s.names[r], v))
			sep = " "
		}
	}
	if it.container >= 0 && len(s.items) > 1 {
		c := p.containers[it.container]
		label := "container"
		if c.kind != kindApp {
			label = "init container"
		}
		fmt.Fprintf(&b, " for %s %s beside the pod's other containers", label, c.name)
	}
	// closest: the NUMA node with the smallest sum of missing/needed
	best, bestShort := -1, 0.0
	for z := range s.zones {
		short := 0.0
		for r, v := range it.need {
			if h := s.failHave[z*len(s.names)+r]; v > h {
				short += float64(v-max(h, 0)) / float64(v)
			}
		}
		if best < 0 || short < bestShort {
			best, bestShort = z, short
		}
	}
	word := "free"
	if empty {
		word = "allocatable"
	}
	fmt.Fprintf(&b, "; closest numa%d:", s.zones[best].ID)
	sep = " "
	for r, v := range it.need {
		if h := max(s.failHave[best*len(s.names)+r], 0); v > h {
			fmt.Fprintf(&b, "%s%s %s/%s %s", sep, s.names[r], formatAmount(s.names[r], h), formatAmount(s.names[r], v), word)
			sep = ", "
		}
	}
	return b.String()
}

func max(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func formatAmount(name string, v int64) string {
	if !isBytes(name) || v == 0 {
		return strconv.FormatInt(v, 10)
	}
	u := -1
	for w := v; w%1024 == 0 && u < 5; w /= 1024 {
		u++
	}
	if u < 0 {
		return strconv.FormatInt(v, 10)
	}
	return strconv.FormatInt(v>>(10*(u+1)), 10) + []string{"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}[u]
}

// fit places the pod on node n; explain: write the reason of a failure (only /filter reads it).
func (n *node) fit(p *podReq, explain bool) fitResult {
	res := fitResult{zone: -1}
	if !p.aligned {
		return res
	}
	if cpus := p.effective["cpu"]; cpus > 0 {
		if !n.cpuStatic {
			policy := n.topo.Kubelet.CPUManagerPolicy
			if policy == "" {
				policy = "unknown"
			}
			res.status = unresolvable
			res.reason = fmt.Sprintf("cpuManagerPolicy is %s: kubelet never pins exclusive CPUs here, the pod asks cpu=%d exclusive", policy, cpus)
			return res
		}
		if n.fullPCPUsOnly && n.threadsPerCore > 1 {
			for _, c := range p.containers {
				if c.exclusiveCPUs > 0 && c.exclusiveCPUs%int64(n.threadsPerCore) != 0 {
					res.status = unresolvable
					res.reason = fmt.Sprintf("full-pcpus-only: container %s asks cpu=%d, not a multiple of %d threads per core (kubelet: SMTAlignmentError)", c.name, c.exclusiveCPUs, n.threadsPerCore)
					return res
				}
			}
		}
	}
	s := &search{zones: n.topo.NumaNodes, names: make([]string, 0, len(p.names))}
	for _, name := range p.names {
		if n.checks(name) {
			s.names = append(s.names, name)
		}
	}
	var needs []map[string]int64
	if n.podScope {
		needs = []map[string]int64{p.effective}
	} else {
		for _, c := range p.containers {
			needs = append(needs, c.amounts)
		}
	}
	for i, amounts := range needs {
		need, anyNeed := make([]int64, len(s.names)), false
		for r, name := range s.names {
			if v := amounts[name]; v > 0 {
				need[r], anyNeed = v, true
			}
		}
		if !anyNeed {
			continue
		}
		it := item{container: -1, need: need}
		if !n.podScope {
			it.container, it.transient = i, p.containers[i].kind == kindInit
		}
		s.items = append(s.items, it)
	}
	if len(s.items) == 0 {
		return res // e.g. only memory, and this node's Memory Manager does not align it
	}
	res.aligned = true
	if len(s.zones) == 0 {
		res.status, res.reason = unresolvable, "node topology lists no NUMA node"
		return res
	}
	s.choice = make([]int, len(s.items))
	if s.run(n, false) {
		if n.podScope {
			res.zone = s.choice[0]
		} else {
			res.containerZones = make([]int, len(p.containers))
			for i := range res.containerZones {
				res.containerZones[i] = -1
			}
			for i, it := range s.items {
				res.containerZones[it.container] = s.choice[i]
			}
		}
		return res
	}
	res.status = failed
	if s.gaveUp {
		res.reason = fmt.Sprintf("placement search for %d containers over %d zones gave up after %d steps", len(s.items), len(s.zones), maxSteps)
		return res
	}
	if !explain {
		return res
	}
	res.reason = s.reason(p, false)
	if !s.run(n, true) && !s.gaveUp {
		res.status, res.reason = unresolvable, s.reason(p, true)
	}
	return res
}

// score (extender/score.c, most-allocated): 10 x the mean share in use, after placing the pod,
// of every resource it places on the NUMA nodes it uses; 0 when it does not fit.
func (n *node) score(p *podReq, r fitResult) int64 {
	if r.status != fits || !r.aligned {
		return 0
	}
	type placed struct {
		zone  int
		name  string
		value int64
	}
	var ps []placed
	place := func(zone int, amounts map[string]int64) {
		for _, name := range p.names { // a fixed order, so the float sum is deterministic
			v := amounts[name]
			if v <= 0 || !n.checks(name) {
				continue
			}
			found := false
			for i := range ps {
				if ps[i].zone == zone && ps[i].name == name {
					ps[i].value += v
					found = true
				}
			}
			if !found {
				ps = append(ps, placed{zone, name, v})
			}
		}
	}
	if r.containerZones == nil {
		place(r.zone, p.effective)
	} else {
		for i, c := range p.containers {
			if c.kind != kindInit && r.containerZones[i] >= 0 {
				place(r.containerZones[i], c.amounts)
			}
		}
	}
	if len(ps) == 0 {
		return 0
	}
	sum := 0.0
	for _, q := range ps {
		alloc, avail := n.amount(&n.topo.NumaNodes[q.zone], q.name)
		u := 1.0
		if alloc > 0 {
			u = (float64(alloc) - float64(avail) + float64(q.value)) / float64(alloc)
		}
		sum += math.Min(math.Max(u, 0), 1)
	}
	s := int64(math.Floor(10*sum/float64(len(ps)) + 0.5 + 1e-9))
	if s < 0 {
		s = 0
	}
	if s > 10 {
		s = 10
	}
	return s
}

// ---- HTTP ----

type server struct {
	nodes map[string]*node // read-only after start: no lock
}

const maxBody = 64 << 20

func decodeArgs(w http.ResponseWriter, r *http.Request) (*ExtenderArgs, *podReq, []string, error) {
	var args ExtenderArgs
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&args); err != nil {
		return nil, nil, nil, fmt.Errorf("decoding ExtenderArgs: %v", err)
	}
	var names []string
	switch {
	case args.NodeNames != nil:
		names = *args.NodeNames
	case args.Nodes != nil:
		for _, n := range args.Nodes.Items {
			names = append(names, n.Name)
		}
	default:
		return nil, nil, nil, errors.New("ExtenderArgs has neither Nodes nor NodeNames")
	}
	p, err := podRequirements(args.Pod)
	if err != nil {
		return nil, nil, nil, err
	}
	return &args, p, names, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Printf("writing the answer: %v", err)
	}
}

func (s *server) filter(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	result := ExtenderFilterResult{FailedNodes: map[string]string{}, FailedAndUnresolvableNodes: map[string]string{}}
	args, p, names, err := decodeArgs(w, r)
	if err != nil {
		result.Error = err.Error()
		writeJSON(w, http.StatusBadRequest, result)
		return
	}
	pass := make(map[string]bool, len(names))
	for _, name := range names {
		if !p.aligned {
			pass[name] = true
			continue
		}
		n, ok := s.nodes[name]
		if !ok {
			result.FailedNodes[name] = "no topology for this node"
			continue
		}
		switch fr := n.fit(p, true); fr.status {
		case fits:
			pass[name] = true
		case failed:
			result.FailedNodes[name] = fr.reason
		default:
			result.FailedAndUnresolvableNodes[name] = fr.reason
		}
	}
	if args.NodeNames != nil {
		passing := []string{}
		for _, name := range names {
			if pass[name] {
				passing = append(passing, name)
			}
		}
		result.NodeNames = &passing
	} else {
		list := *args.Nodes
		list.Items = []Node{}
		for _, n := range args.Nodes.Items {
			if pass[n.Name] {
				list.Items = append(list.Items, n)
			}
		}
		result.Nodes = &list
	}
	writeJSON(w, http.StatusOK, result)
}

func (s *server) prioritize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	_, p, names, err := decodeArgs(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, struct{ Error string }{err.Error()})
		return
	}
	list := make([]HostPriority, 0, len(names))
	for _, name := range names {
		var score int64
		if n, ok := s.nodes[name]; ok && p.aligned {
			score = n.score(p, n.fit(p, false))
		}
		list = append(list, HostPriority{Host: name, Score: score})
	}
	writeJSON(w, http.StatusOK, list)
}

// loadDir reads every *.json NodeTopology in dir (names starting with '.' skipped); a bad file
// is logged and skipped.
func loadDir(dir string) (map[string]*node, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	nodes := make(map[string]*node, len(paths))
	for _, path := range paths {
		if strings.HasPrefix(filepath.Base(path), ".") {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			log.Printf("%s: %v", path, err)
			continue
		}
		var t NodeTopology
		if err := json.Unmarshal(b, &t); err != nil {
			log.Printf("%s: %v", path, err)
			continue
		}
		if t.APIVersion != "numafit.io/v1" || t.Kind != "NodeTopology" || t.Node == "" {
			log.Printf("%s: not a numafit.io/v1 NodeTopology with a node name", path)
			continue
		}
		nodes[t.Node] = newNode(&t)
	}
	return nodes, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:19754", "address:port to serve on")
	dir := flag.String("topology-dir", "", "directory of NodeTopology *.json documents (required)")
	withPprof := flag.Bool("pprof", false, "serve net/http/pprof under /debug/pprof/")
	flag.Parse()
	if *dir == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	start := time.Now()
	nodes, err := loadDir(*dir)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("loaded %d node topologies from %s in %v", len(nodes), *dir, time.Since(start).Round(time.Millisecond))

	s := &server{nodes: nodes}
	mux := http.NewServeMux()
	mux.HandleFunc("/filter", s.filter)
	mux.HandleFunc("/prioritize", s.prioritize)
	ok := func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/readyz", ok)
	if *withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
