package demo

// The charts, docs and system-tests repos of the demo.

// chartsInitial is the first state of the charts repo: chart versions and
// the image tags the charts use.
func chartsInitial() chartState {
	return chartState{
		"cp.version": "0.13.2", "cp.amf": "1.2.1", "cp.smf": "1.3.0",
		"up.version": "0.10.4", "up.upf": "2.0.0",
		"api.version": "0.9.4", "api.app": "1.1.0",
		"gui.version":  "2.1.3",
		"umb.version":  "2.1.8",
		"edge.version": "0.6.1",
		"busybox":      imgBusybox + "@" + mustDigest(imgBusybox),
	}
}

const chartsReadme = `# Aether Helm charts

Charts for the Aether platform. The platform version is in ` + "`VERSION`" + `;
every chart has its own version in its Chart.yaml, bumped with every change
and published to the chart repository when merged.

| Chart | Path |
|-------|------|
| OMEC control plane | omec/omec-control-plane |
| OMEC user plane | omec/omec-user-plane |
| ROC API | roc-api |
| ROC GUI | aether-roc-gui |
| ROC umbrella | aether-roc-umbrella |
| Edge monitoring | edge-monitoring |

Patches to a release are made on its branch (aether-X.Y).
`

// chartsHistory builds the charts repo and returns the states whose chart
// versions were published (oldest first) and the final state.
func chartsHistory(r *Repo) (published []chartState, final chartState) {
	files := func(st chartState, extra map[string]string) map[string]string {
		m := chartFiles(st)
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	a0 := chartsInitial()
	r.Commit("Import the Aether charts", files(a0, map[string]string{
		"VERSION":    "2.0.0-dev\n",
		"README.md":  chartsReadme,
		".gitignore": "*.tgz\n!*/charts/*.tgz\n.cr-release-packages/\n",
	}))
	a1 := a0.with("cp.version", "0.13.3", "cp.amf", "1.4.0")
	r.Commit("omec-control-plane: update the AMF to 1.4.0", files(a1, nil))
	a2 := a1.with("up.version", "0.11.0", "up.upf", "2.1.0")
	r.Commit("omec-user-plane: update the UPF to 2.1.0", files(a2, nil))
	a3 := a2.with("api.version", "0.9.5", "api.app", "1.1.1", "umb.version", "2.1.9")
	r.Commit("roc-api: update to 1.1.1, pin it in the umbrella", files(a3, nil))
	r.SetVersion("2.0.0\n")
	r.Tag("2.0.0", "Aether 2.0.0", "")
	rel := r.Head()

	// Minor release cut: every chart gets a minor bump, VERSION the next
	// minor dev version; 2.0.x continues on aether-2.0.
	c0 := a3.with("cp.version", "0.14.0", "up.version", "0.12.0", "api.version", "0.10.0",
		"gui.version", "2.2.0", "umb.version", "2.2.0", "edge.version", "0.7.0")
	r.Commit("Start 2.1 development: bump chart versions", files(c0, map[string]string{"VERSION": "2.1.0-dev\n"}))

	r.Checkout("aether-2.0", rel)
	b1 := a3.with("up.version", "0.11.1", "up.upf", "2.1.1")
	r.Commit("omec-user-plane: update the UPF to 2.1.1", files(b1, nil))
	r.SetVersion("2.0.1\n")
	r.Tag("2.0.1", "Aether 2.0.1", "")
	r.SetVersion("2.0.2-dev\n")

	r.Checkout("master", "")
	c1 := c0.with("up.version", "0.12.1", "up.upf", "2.1.1")
	r.Commit("omec-user-plane: update the UPF to 2.1.1", files(c1, nil))
	c2 := c1.with("cp.version", "0.14.1", "cp.amf", "1.4.1", "cp.smf", "1.3.1")
	r.Commit("omec-control-plane: AMF 1.4.1 and SMF 1.3.1", files(c2, nil))
	c3 := c2.with("api.version", "0.10.1", "api.app", "1.2.0", "umb.version", "2.2.1")
	r.Commit("roc-api: update to 1.2.0, pin it in the umbrella", files(c3, nil))
	return []chartState{a0, a1, a2, a3, b1}, c3
}

func docsPage(title, body string) string { return "# " + title + "\n\n" + body + "\n" }

func docsHistory(r *Repo) {
	r.Commit("Start the Aether documentation", map[string]string{
		"VERSION":                 "2.0.0-dev\n",
		"index.md":                docsPage("Aether", "Aether is an open source 5G connected edge platform.\n\n- [Overview](overview.md)\n- [Installation](deployment/install.md)\n- [Release notes](release-notes/index.md)"),
		"overview.md":             docsPage("Overview", "An Aether site runs the OMEC 5G core (control and user plane) and the\nRuntime Operational Control (ROC)."),
		"deployment/install.md":   docsPage("Installation", "Install the charts from the Aether chart repository:\n\n    helm repo add aether https://charts.aetherproject.org\n    helm install sd-core aether/omec-control-plane"),
		"release-notes/index.md":  docsPage("Release notes", "- [2.0.0](2.0.0.md)"),
		"release-notes/1.6.0.md":  docsPage("Aether 1.6.0", "First release with the 5G core."),
		"conf/mkdocs-nav.yaml":    "nav:\n  - index.md\n  - overview.md\n  - deployment/install.md\n  - release-notes/index.md\n",
		"requirements.txt":        "mkdocs==1.6.0\n",
		".gitignore":              "site/\n",
		"deployment/upgrading.md": docsPage("Upgrading", "Upgrade one chart at a time, control plane first."),
	})
	r.Commit("Release notes for 2.0.0", map[string]string{
		"release-notes/2.0.0.md": docsPage("Aether 2.0.0", "- AMF 1.4.0, SMF 1.3.0, UPF 2.1.0, ROC API 1.1.1"),
	})
	r.SetVersion("2.0.0\n")
	r.Tag("2.0.0", "Aether 2.0.0 documentation", "")
	rel := r.Head()
	r.SetVersion("2.1.0-dev\n")
	r.Checkout("aether-2.0", rel)
	notes := docsPage("Aether 2.0.1", "- UPF 2.1.1: answers GTP-U echo requests on every interface")
	r.Commit("Release notes for 2.0.1", map[string]string{"release-notes/2.0.1.md": notes,
		"release-notes/index.md": docsPage("Release notes", "- [2.0.1](2.0.1.md)\n- [2.0.0](2.0.0.md)")})
	r.SetVersion("2.0.1\n")
	r.Tag("2.0.1", "Aether 2.0.1 documentation", "")
	r.Checkout("master", "")
	r.Commit("Release notes for 2.0.1", map[string]string{"release-notes/2.0.1.md": notes})
	r.Commit("Draft the 2.1.0 release notes", map[string]string{
		"release-notes/2.1.0.md": docsPage("Aether 2.1.0 (draft)", "- AMF 1.4.1 with N2 handover\n- SMF 1.3.1\n- ROC API 1.2.0 with slice QoS"),
		"release-notes/index.md": docsPage("Release notes", "- [2.1.0](2.1.0.md)\n- [2.0.1](2.0.1.md)\n- [2.0.0](2.0.0.md)"),
	})
	r.Commit("Document the ROC GUI", map[string]string{
		"operations/roc-gui.md": docsPage("ROC GUI", "Enable the GUI with `gui.enabled: true` in the aether-roc-umbrella values."),
	})
}

func systemTestsHistory(r *Repo) {
	r.Commit("Add smoke and attach tests", map[string]string{
		"README.md":            "# Aether system tests\n\nRobot Framework suites run against a deployed Aether site.\nPatches to release X.Y are tested with branch aether-X.Y.\n",
		"Makefile":             "test:\n\trobot --outputdir results tests/\n",
		"requirements.txt":     "robotframework==7.0\nrobotframework-requests==0.9.6\n",
		"tests/smoke.robot":    "*** Test Cases ***\nCore Pods Are Running\n    Log    checking pods\n",
		"tests/attach.robot":   "*** Test Cases ***\nUE Attaches\n    Log    attaching a UE through the simulated gNB\n",
		"variables/site.yaml":  "site: demo\nslices: [default]\n",
		"resources/common.txt": "*** Keywords ***\nWait For Pods\n    Sleep    1s\n",
	})
	r.Commit("Add a UPF restart test", map[string]string{
		"tests/upf-restart.robot": "*** Test Cases ***\nSessions Survive UPF Restart\n    Log    restarting the UPF\n",
	})
	r.Checkout("aether-2.0", "HEAD")
	r.Commit("Pin the 2.0 chart versions", map[string]string{
		"variables/release.yaml": "release: \"2.0\"\ncharts:\n  omec-control-plane: 0.13.3\n  omec-user-plane: 0.11.1\n",
	})
	r.Checkout("master", "")
	r.Commit("Add ROC API tests", map[string]string{
		"tests/roc-api.robot": "*** Test Cases ***\nSlice QoS Can Be Read\n    Log    GET /aether/v2.1.x/slice/qos\n",
	})
}
