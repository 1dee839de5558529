package checks

import (
	"fmt"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/repofs"
)

// ruleFileNotRegular is the finding for a repo file relkit refused to read:
// a symlink leading out of the repo, a FIFO, a device, a file over the
// size cap. It names the path and the reason, never the content.
const ruleFileNotRegular = "file-not-regular"

// refusedFindings turns every refusal in err's tree into a
// file-not-regular finding of check in repo; nil when err holds none.
func refusedFindings(check, repo string, err error) []report.Finding {
	var out []report.Finding
	for _, r := range repofs.Refusals(err) {
		file, reason, _ := repofs.Refused(r)
		out = append(out, report.Finding{Check: check, Rule: ruleFileNotRegular, Severity: report.Error, Repo: repo,
			File: file, Subject: file, Message: fmt.Sprintf("%s is %s; relkit reads only regular files inside the repo (at most a few MiB), so it was not checked: expected a regular file, or a relative symlink to one inside the repo", file, reason)})
	}
	return out
}
