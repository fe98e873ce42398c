#!/bin/sh
# Regenerates the mTLS test certificates (EC P-256, valid until 2125). Run from this directory.
set -eu
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
key ca.key
openssl req -x509 -new -key ca.key -sha256 -days 36500 -subj "/CN=Portcullis Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
leaf() { # name subject extensions
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 36500 -sha256 -extfile "$1.ext" -out "$1.pem"
  rm "$1.csr" "$1.ext"
}
leaf server "/CN=localhost" "extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf billing "/O=Example/CN=billing-svc" "extendedKeyUsage=clientAuth
subjectAltName=DNS:billing.internal,URI:spiffe://example.org/ns/prod/sa/billing"
leaf stranger "/CN=stranger" "extendedKeyUsage=clientAuth
subjectAltName=DNS:stranger.internal"
rm -f ca.srl ca.key
