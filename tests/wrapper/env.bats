# docker-machine env / config: exact lines for each shell, -u, --no-proxy,
# shell detection, the TLS check and its errors.
load helper

setup_file() {
	wrapper_setup_file
	export P=$(free_port)
	none_machine n1 "tcp://127.0.0.1:$P"
	tls_server "$P"
	none_machine dead tcp://127.0.0.1:1
	export CP=$MACHINE_STORAGE_PATH/machines/n1
}
teardown_file() { wrapper_teardown_file; }

@test "env: bash (from \$SHELL)" {
	SHELL=/bin/bash run docker-machine env n1
	[ "$status" -eq 0 ]
	[ "$output" = "export DOCKER_TLS_VERIFY=\"1\"
export DOCKER_HOST=\"tcp://127.0.0.1:$P\"
export DOCKER_CERT_PATH=\"$CP\"
export DOCKER_MACHINE_NAME=\"n1\"
# Run this command to configure your shell: 
# eval \$(docker-machine env n1)" ]
}

@test "env: unknown \$SHELL is POSIX" {
	SHELL=/usr/bin/zsh run docker-machine env n1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'export DOCKER_TLS_VERIFY="1"' ]
}

@test "env --shell fish" {
	run docker-machine env --shell fish n1
	[ "$status" -eq 0 ]
	[ "$output" = "set -gx DOCKER_TLS_VERIFY \"1\";
set -gx DOCKER_HOST \"tcp://127.0.0.1:$P\";
set -gx DOCKER_CERT_PATH \"$CP\";
set -gx DOCKER_MACHINE_NAME \"n1\";
# Run this command to configure your shell: 
# eval (docker-machine env --shell fish n1)" ]
}

@test "env --shell powershell" {
	run docker-machine env --shell powershell n1
	[ "$status" -eq 0 ]
	[ "$output" = "\$Env:DOCKER_TLS_VERIFY = \"1\"
\$Env:DOCKER_HOST = \"tcp://127.0.0.1:$P\"
\$Env:DOCKER_CERT_PATH = \"$CP\"
\$Env:DOCKER_MACHINE_NAME = \"n1\"
# Run this command to configure your shell: 
# & docker-machine env --shell powershell n1 | Invoke-Expression" ]
}

@test "env --shell cmd" {
	run docker-machine env --shell cmd n1
	[ "$status" -eq 0 ]
	[ "$output" = "SET DOCKER_TLS_VERIFY=1
SET DOCKER_HOST=tcp://127.0.0.1:$P
SET DOCKER_CERT_PATH=$CP
SET DOCKER_MACHINE_NAME=n1
REM Run this command to configure your shell: 
REM 	@FOR /f \"tokens=*\" %i IN ('docker-machine env --shell cmd n1') DO @%i" ]
}

@test "env --shell tcsh" {
	run docker-machine env --shell tcsh n1
	[ "$status" -eq 0 ]
	[ "$output" = "setenv DOCKER_TLS_VERIFY \"1\";
setenv DOCKER_HOST \"tcp://127.0.0.1:$P\";
setenv DOCKER_CERT_PATH \"$CP\";
setenv DOCKER_MACHINE_NAME \"n1\";
: Run this command to configure your shell: 
: eval \`docker-machine env --shell tcsh n1\`" ]
}

@test "env --shell emacs" {
	run docker-machine env --shell=emacs n1
	[ "$status" -eq 0 ]
	[ "$output" = "(setenv \"DOCKER_TLS_VERIFY\" \"1\")
(setenv \"DOCKER_HOST\" \"tcp://127.0.0.1:$P\")
(setenv \"DOCKER_CERT_PATH\" \"$CP\")
(setenv \"DOCKER_MACHINE_NAME\" \"n1\")
;; Run this command to configure your shell: 
;; (with-temp-buffer (shell-command \"docker-machine env --shell=emacs n1\" (current-buffer)) (eval-buffer))" ]
}

@test "env -u: bash" {
	SHELL=/bin/sh run docker-machine env -u
	[ "$status" -eq 0 ]
	[ "$output" = "unset DOCKER_TLS_VERIFY
unset DOCKER_HOST
unset DOCKER_CERT_PATH
unset DOCKER_MACHINE_NAME
# Run this command to configure your shell: 
# eval \$(docker-machine env -u)" ]
}

@test "env -u: fish" {
	run docker-machine env -u --shell fish
	[ "$output" = "set -e DOCKER_TLS_VERIFY;
set -e DOCKER_HOST;
set -e DOCKER_CERT_PATH;
set -e DOCKER_MACHINE_NAME;
# Run this command to configure your shell: 
# eval (docker-machine env -u --shell fish)" ]
}

@test "env -u: powershell (two backslashes)" {
	run docker-machine env -u --shell powershell
	[ "$output" = 'Remove-Item Env:\\DOCKER_TLS_VERIFY
Remove-Item Env:\\DOCKER_HOST
Remove-Item Env:\\DOCKER_CERT_PATH
Remove-Item Env:\\DOCKER_MACHINE_NAME
# Run this command to configure your shell: 
# & docker-machine env -u --shell powershell | Invoke-Expression' ]
}

@test "env -u: cmd" {
	run docker-machine env -u --shell cmd
	[ "$output" = "SET DOCKER_TLS_VERIFY=
SET DOCKER_HOST=
SET DOCKER_CERT_PATH=
SET DOCKER_MACHINE_NAME=
REM Run this command to configure your shell: 
REM 	@FOR /f \"tokens=*\" %i IN ('docker-machine env -u --shell cmd') DO @%i" ]
}

@test "env -u: tcsh" {
	run docker-machine env -u --shell tcsh
	[ "$output" = "unsetenv DOCKER_TLS_VERIFY;
unsetenv DOCKER_HOST;
unsetenv DOCKER_CERT_PATH;
unsetenv DOCKER_MACHINE_NAME;
: Run this command to configure your shell: 
: eval \`docker-machine env -u --shell tcsh\`" ]
}

@test "env -u: emacs" {
	run docker-machine env -u --shell emacs
	[ "$output" = "(setenv \"DOCKER_TLS_VERIFY\" nil)
(setenv \"DOCKER_HOST\" nil)
(setenv \"DOCKER_CERT_PATH\" nil)
(setenv \"DOCKER_MACHINE_NAME\" nil)
;; Run this command to configure your shell: 
;; (with-temp-buffer (shell-command \"docker-machine env -u --shell emacs\" (current-buffer)) (eval-buffer))" ]
}

@test "env --no-proxy appends the IP to no_proxy / NO_PROXY" {
	SHELL=/bin/bash NO_PROXY=example.com run docker-machine env --no-proxy n1
	[ "$status" -eq 0 ]
	# the none driver's IP is host:port (Driver.GetIP() in Docker Machine too)
	[ "${lines[4]}" = "export NO_PROXY=\"example.com,127.0.0.1:$P\"" ]
	SHELL=/bin/bash no_proxy=x,127.0.0.1:$P run docker-machine env --no-proxy n1
	[ "${lines[4]}" = "export no_proxy=\"x,127.0.0.1:$P\"" ]
	SHELL=/bin/bash run docker-machine env --no-proxy --shell fish n1
	[ "${lines[4]}" = "set -gx NO_PROXY \"127.0.0.1:$P\";" ]
}

@test "env -u --no-proxy keeps Docker Machine's quirk" {
	SHELL=/bin/bash NO_PROXY=a.b run docker-machine env -u --no-proxy
	[ "${lines[4]}" = 'unset NO_PROXYa.b' ]
	SHELL=/bin/bash run docker-machine env -u --no-proxy
	[ "${lines[4]}" = 'unset NO_PROXY' ]
}

@test "env: empty \$SHELL is an error" {
	SHELL= run --separate-stderr docker-machine env n1
	[ "$status" -eq 1 ]
	[ "$output" = "The default lines below are for a sh/bash shell, you can specify the shell you're using, with the --shell flag." ]
	[ "$stderr" = "Error: Unknown shell" ]
}

@test "env -u with a name is an error" {
	run --separate-stderr docker-machine env -u n1
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: Expected no machine name when the -u flag is present" ]
}

@test "env: no name and no default machine" {
	run --separate-stderr docker-machine env
	[ "$status" -eq 1 ]
	[ "$stderr" = 'Error: No machine name(s) specified and no "default" machine exists' ]
}

@test "env: two names" {
	run --separate-stderr docker-machine env n1 dead
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: Expected one machine name as an argument" ]
}

@test "env: machine does not exist" {
	run --separate-stderr docker-machine env nope
	[ "$status" -eq 1 ]
	[ "$stderr" = 'Docker machine "nope" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.' ]
}

@test "env: the TLS check fails with nothing listening" {
	SHELL=/bin/bash run --separate-stderr docker-machine env dead
	[ "$status" -eq 1 ]
	[ "$output" = "" ]
	[ "$stderr" = "Error checking TLS connection: Error checking and/or regenerating the certs: There was an error validating certificates for host \"127.0.0.1:1\": dial tcp 127.0.0.1:1: connect: connection refused
You can attempt to regenerate them using 'docker-machine regenerate-certs [name]'.
Be advised that this will trigger a Docker daemon restart which might stop running containers." ]
}

@test "env --swarm on a machine that is not a swarm master" {
	run --separate-stderr docker-machine env --swarm n1
	[ "$status" -eq 1 ]
	[ "$stderr" = 'Error checking TLS connection: "n1" is not a swarm master. The --swarm flag is intended for use with swarm masters' ]
}

@test "env: unknown flag" {
	run --separate-stderr docker-machine env --bogus n1
	[ "$status" -eq 0 ]
	[ "$stderr" = "flag provided but not defined: -bogus" ]
}

@test "config: exact flags" {
	run docker-machine config n1
	[ "$status" -eq 0 ]
	[ "$output" = "--tlsverify
--tlscacert=\"$CP/ca.pem\"
--tlscert=\"$CP/cert.pem\"
--tlskey=\"$CP/key.pem\"
-H=tcp://127.0.0.1:$P" ]
}

@test "config: the TLS check fails" {
	run --separate-stderr docker-machine config dead
	[ "$status" -eq 1 ]
	[ "${stderr%%$'\n'*}" = "Error running connection boilerplate: Error checking and/or regenerating the certs: There was an error validating certificates for host \"127.0.0.1:1\": dial tcp 127.0.0.1:1: connect: connection refused" ]
}

@test "env and config: the default machine" {
	none_machine default "tcp://127.0.0.1:$P"
	SHELL=/bin/bash run docker-machine env
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = 'export DOCKER_MACHINE_NAME="default"' ]
	run docker-machine config
	[ "${lines[4]}" = "-H=tcp://127.0.0.1:$P" ]
	rmdir "$MNT/default"
}

@test "env: an engine whose certificate is not from the store's CA" {
	local p
	p=$(free_port)
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/o-key.pem" -subj /O=other -days 1 \
		-addext subjectAltName=IP:127.0.0.1 -out "$T/o.pem" 2>/dev/null
	openssl s_server -quiet -accept "127.0.0.1:$p" -cert "$T/o.pem" -key "$T/o-key.pem" \
		</dev/null >/dev/null 2>&1 3>&- &
	local pid=$!
	for _ in $(seq 50); do timeout 1 bash -c "</dev/tcp/127.0.0.1/$p" 2>/dev/null && break; sleep 0.1; done
	none_machine other "tcp://127.0.0.1:$p"
	SHELL=/bin/bash run --separate-stderr docker-machine env other
	kill "$pid"
	[ "$status" -eq 1 ]
	[ "${stderr%%$'\n'*}" = "Error checking TLS connection: Error checking and/or regenerating the certs: There was an error validating certificates for host \"127.0.0.1:$p\": x509: certificate signed by unknown authority" ]
	rmdir "$MNT/other"
}
