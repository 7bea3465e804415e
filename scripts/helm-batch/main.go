// razee-helm-batch runs many `helm template` commands in one process: helm's own command code (pkg/cmd, the
// same code path as the helm binary's), so the output is byte for byte what `helm template` prints, without a
// process start per release. One JSON request per stdin line ({"args": [...]}), one JSON answer per stdout line
// ({"stdout": "...", "stderr": "...", "ok": true}). Offline renders only: razee runs live `lookup` renders with
// the helm binary.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	helmcmd "helm.sh/helm/v4/pkg/cmd"
	"helm.sh/helm/v4/pkg/kube"
)

type request struct {
	Args []string `json:"args"`
}

type answer struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	OK     bool   `json:"ok"`
}

func run(args []string) answer {
	var out, errs bytes.Buffer
	cmd, err := helmcmd.NewRootCmd(&out, args, func(bool) {})
	if err != nil {
		return answer{Stderr: fmt.Sprintf("Error: %v", err)}
	}
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errs)
	if err := cmd.Execute(); err != nil {
		return answer{Stdout: out.String(), Stderr: errs.String()}
	}
	return answer{Stdout: out.String(), Stderr: errs.String(), OK: true}
}

func main() {
	kube.ManagedFieldsManager = "helm"
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			_ = enc.Encode(answer{Stderr: fmt.Sprintf("Error: bad request: %v", err)})
			continue
		}
		_ = enc.Encode(run(req.Args))
	}
}
