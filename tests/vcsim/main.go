// vcsim-test: govmomi's vCenter simulator for machinefs's vmwarevsphere
// tests (test harness only, never part of the product).
//
//	vcsim-test -port-file F [-tls -thumb-file F -cert-file F] [-password P] [-guest-cmd CMD] [-no-ip-file F]
//
// Serves simulator.VPX() (one datacenter DC0, one cluster DC0_C0 with its
// hosts, datastore LocalDS_0, network "VM Network") on 127.0.0.1:0 and
// writes the port to the port file; user "user", password "pass"
// (vcsim accepts any). With -tls: HTTPS with a self-signed certificate,
// whose SHA-1 thumbprint (AA:BB:...) and PEM go to the named files.
//
// The guest: a simulated VM boots nothing. With -guest-cmd, a powered-on
// VM whose extraConfig holds guestinfo.machinefs.authorized-keys (what
// machinefs's driver sets and its guest image would read at boot) gets a
// real test host: "CMD up VMNAME KEYFILE" prints an IP, which becomes the
// VM's guest.ipAddress; "CMD down VMNAME" when the VM is destroyed. While
// the file -no-ip-file exists, no IP is given (a create waits for it).
//
// GET /_inventory: {"vms":[{"name","power","ip","extra":{k:v}}],
// "datastore":"DIR"} for the tests.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

const keyName = "guestinfo.machinefs.authorized-keys"

type vmInfo struct {
	Name  string            `json:"name"`
	Power string            `json:"power"`
	IP    string            `json:"ip"`
	Extra map[string]string `json:"extra"`
}

func snapshot() []vmInfo {
	var out []vmInfo
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm, ok := e.(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		var v vmInfo
		simulator.Map.WithLock(vm, func() {
			v.Name = vm.Name
			v.Power = string(vm.Runtime.PowerState)
			v.IP = vm.Guest.IpAddress
			v.Extra = map[string]string{}
			if vm.Config != nil {
				for _, o := range vm.Config.ExtraConfig {
					ov := o.GetOptionValue()
					if s, ok := ov.Value.(string); ok {
						v.Extra[ov.Key] = s
					}
				}
			}
		})
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func setIP(name, ip string) {
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm, ok := e.(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		simulator.Map.WithLock(vm, func() {
			if vm.Name != name {
				return
			}
			simulator.Map.Update(vm, []types.PropertyChange{
				{Name: "guest.ipAddress", Val: ip},
				{Name: "summary.guest.ipAddress", Val: ip},
			})
		})
	}
}

func main() {
	portFile := flag.String("port-file", "", "write the port here")
	useTLS := flag.Bool("tls", false, "serve HTTPS")
	thumbFile := flag.String("thumb-file", "", "write the certificate's SHA-1 thumbprint here")
	certFile := flag.String("cert-file", "", "write the certificate (PEM) here")
	guestCmd := flag.String("guest-cmd", "", "command giving a powered-on VM a test host")
	noIPFile := flag.String("no-ip-file", "", "while this file exists, give no IP")
	vmNames := flag.String("vm-names", "", "rename the model's VMs, in order (comma-separated)")
	password := flag.String("password", "", "the password of user \"user\" (default: any user, any password)")
	flag.Parse()

	model := simulator.VPX()
	model.Host = 0 // only the cluster: the default resource pool is unique
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	defer model.Remove()
	if *vmNames != "" {
		var vms []*simulator.VirtualMachine
		for _, e := range simulator.Map.All("VirtualMachine") {
			vms = append(vms, e.(*simulator.VirtualMachine))
		}
		sort.Slice(vms, func(i, j int) bool { return vms[i].Name < vms[j].Name })
		for i, name := range strings.Split(*vmNames, ",") {
			if i < len(vms) {
				vm := vms[i]
				simulator.Map.WithLock(vm, func() {
					simulator.Map.Update(vm, []types.PropertyChange{{Name: "name", Val: name}, {Name: "config.name", Val: name}, {Name: "summary.config.name", Val: name}})
				})
			}
		}
	}
	if *useTLS {
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned()}}
	}
	model.Service.HandleFunc("/_inventory", func(w http.ResponseWriter, r *http.Request) {
		ds := ""
		for _, e := range simulator.Map.All("Datastore") {
			if d, ok := e.(*simulator.Datastore); ok {
				ds = d.Info.GetDatastoreInfo().Url
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]interface{}{"vms": snapshot(), "datastore": ds})
	})
	if *password != "" {
		model.Service.Listen = &url.URL{User: url.UserPassword("user", *password)}
	}
	s := model.Service.NewServer()
	defer s.Close()

	if *useTLS {
		der := s.Server.TLS.Certificates[0].Certificate[0]
		sum := sha1.Sum(der)
		var hex []string
		for _, b := range sum {
			hex = append(hex, fmt.Sprintf("%02X", b))
		}
		if *thumbFile != "" {
			_ = os.WriteFile(*thumbFile, []byte(strings.Join(hex, ":")+"\n"), 0644)
		}
		if *certFile != "" {
			_ = os.WriteFile(*certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0644)
		}
	}

	if *guestCmd != "" {
		go guests(*guestCmd, *noIPFile)
	}

	if *portFile != "" {
		tmp := *portFile + ".tmp"
		_ = os.WriteFile(tmp, []byte(s.URL.Port()+"\n"), 0644)
		_ = os.Rename(tmp, *portFile)
	}
	fmt.Println(s.URL.Host)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

// guests gives each powered-on VM with our key a test host, once, and
// takes it back when the VM is gone.
func guests(cmd, noIPFile string) {
	var mu sync.Mutex
	busy := map[string]bool{}
	given := map[string]string{}
	for {
		time.Sleep(100 * time.Millisecond)
		seen := map[string]bool{}
		for _, v := range snapshot() {
			seen[v.Name] = true
			key, ok := v.Extra[keyName]
			if !ok || v.Power != "poweredOn" {
				continue
			}
			mu.Lock()
			ip, had := given[v.Name]
			b := busy[v.Name]
			mu.Unlock()
			if had {
				if v.IP == "" {
					setIP(v.Name, ip)
				}
				continue
			}
			if b {
				continue
			}
			if noIPFile != "" {
				if _, err := os.Stat(noIPFile); err == nil {
					continue
				}
			}
			mu.Lock()
			busy[v.Name] = true
			mu.Unlock()
			go func(name, key string) {
				f, _ := os.CreateTemp("", "vcsim-key-")
				_, _ = f.WriteString(key + "\n")
				f.Close()
				defer os.Remove(f.Name())
				out, err := exec.Command(cmd, "up", name, f.Name()).Output()
				ip := strings.TrimSpace(string(out))
				mu.Lock()
				busy[name] = false
				if err == nil && ip != "" {
					log.Printf("guest up %s: %s", name, ip)
					given[name] = ip
				} else {
					log.Printf("guest up %s: %v", name, err)
				}
				mu.Unlock()
				if ip != "" {
					setIP(name, ip)
				}
			}(v.Name, key)
		}
		mu.Lock()
		for name := range given {
			if !seen[name] {
				delete(given, name)
				err := exec.Command(cmd, "down", name).Run()
				log.Printf("guest down %s: %v", name, err)
			}
		}
		mu.Unlock()
	}
}

// selfSigned: an ECDSA P-256 certificate for 127.0.0.1 (httptest's own
// is RSA 1024, which OpenSSL refuses as too weak).
func selfSigned() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "vcsim"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
