#!/usr/bin/env bash
# Makes the test PKI of client/tests/connection.rs with openssl: a CA, a server certificate for
# 127.0.0.1 and localhost, and a client certificate of the service principal `exporter` (URI SAN
# procura://svc/exporter), each valid for 100 years. For tests only: the keys are public.
set -euo pipefail
cd "$(dirname "$0")"
days=36500
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
openssl req -x509 -new -key ca.key -days "$days" -subj "/CN=procura test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem
leaf() { # name subject san eku
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
    "$4" "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
    -extfile "$1.ext" -out "$1.pem"
  rm "$1.csr" "$1.ext"
}
leaf server "/CN=procura test server" "IP:127.0.0.1,DNS:localhost" serverAuth
leaf client "/CN=exporter" "URI:procura://svc/exporter" clientAuth
rm -f ca.srl ca.key
