# Sourced by the deploy scripts: installs missing Debian packages (as root).
# apt_install PKG...: quiet, without recommends; apt-get's own errors stop the caller.
apt_install() {
	log "installing: $*"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"$@" >/dev/null
}
