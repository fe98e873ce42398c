#!/bin/sh
# Regenerates the outbound-TLS test certificates (EC P-256, valid until 2125). Run from this
# directory. The CA keys are not kept.
set -eu
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ca() { # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 36500 -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}
leaf() { # ca name subject extensions
  key "$2.key"
  openssl req -new -key "$2.key" -subj "$3" -out "$2.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "$4" > "$2.ext"
  openssl x509 -req -in "$2.csr" -CA "$1.pem" -CAkey "$1.key" -CAcreateserial -days 36500 -sha256 -extfile "$2.ext" -out "$2.pem"
  rm "$2.csr" "$2.ext"
}
ca ca "/CN=Portcullis Outbound Test CA"
ca other-ca "/CN=Some Other CA"
leaf ca server "/CN=localhost" "extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf ca elsewhere "/CN=elsewhere.example" "extendedKeyUsage=serverAuth
subjectAltName=DNS:elsewhere.example"
leaf ca client "/CN=portcullis-gateway" "extendedKeyUsage=clientAuth
subjectAltName=DNS:gateway.internal"
leaf other-ca stranger "/CN=localhost" "extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
# Expired (valid in 2020 only): `openssl ca`, since `openssl x509 -req` cannot date backwards.
key expired.key
openssl req -new -key expired.key -subj "/CN=localhost" -out expired.csr
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" > expired.ext
printf '%s\n' "[ca]" "default_ca = d" "[d]" "database = index.txt" "new_certs_dir = ." \
  "serial = serial" "default_md = sha256" "policy = p" "[p]" "commonName = supplied" > ca.cnf
: > index.txt
echo 01 > serial
openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
  -startdate 20200101000000Z -enddate 20210101000000Z -extfile expired.ext -out expired.pem
rm -f expired.csr expired.ext ca.cnf index.txt* serial* 01.pem
rm -f ca.srl other-ca.srl ca.key other-ca.key
