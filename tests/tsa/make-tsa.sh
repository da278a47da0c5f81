#!/usr/bin/env bash
# Makes a test TSA in DIR (tests only): tsaca.pem (its CA), tsa.pem + tsa.key (EKU
# timeStamping, critical) and tsa.cnf; then `cd DIR && openssl ts -reply -config tsa.cnf
# -queryfile Q -out R` answers a query.
set -euo pipefail
dir="$1"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$dir"
cp "$here/tsa.cnf" tsa.cnf
openssl req -x509 -newkey rsa:2048 -nodes -keyout tsaca.key -out tsaca.pem -days 3650 \
  -subj "/CN=Qoltanba Test TSA Root" -config tsa.cnf -extensions v3_ca 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout tsa.key -out tsa.csr \
  -subj "/CN=Qoltanba Test TSA" -config tsa.cnf 2>/dev/null
openssl x509 -req -in tsa.csr -CA tsaca.pem -CAkey tsaca.key -CAcreateserial -days 3650 \
  -extfile tsa.cnf -extensions v3_tsa -out tsa.pem 2>/dev/null
echo 01 > tsaserial
