package metalsoft

import (
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter"
)

func TestParseVerify(t *testing.T) {
	md5Hex, shaHex := strings.Repeat("ab", 16), strings.Repeat("0F", 32)
	for _, c := range []struct {
		name, verify string
		user         int64
		size         int
		rule         string
	}{
		{"GoSDK", "7:" + md5Hex, 7, 16, ""},
		{"JSSDK", "7:" + shaHex, 7, 32, ""},
		{"NoColon", "7" + md5Hex, 0, 0, "no colon"},
		{"UserNotNumber", "x:" + md5Hex, 0, 0, "user id"},
		{"UserZero", "0:" + md5Hex, 0, 0, "user id"},
		{"NotHex", "7:" + strings.Repeat("zz", 16), 0, 0, "not hexadecimal"},
		{"OtherLength", "7:" + strings.Repeat("ab", 20), 0, 0, "32 hex digits"},
	} {
		t.Run(c.name, func(t *testing.T) {
			user, mac, h, err := parseVerify(c.verify)
			if c.rule != "" {
				if err == nil || !strings.Contains(cloudmeter.MessageOf(err), c.rule) || ErrorCode(err) != CodeAPIKeyNotFound {
					t.Errorf("parseVerify(%q) = %v; want 322 naming %q", c.verify, err, c.rule)
				}
				return
			}
			if err != nil || user != c.user || len(mac) != c.size || h().Size() != c.size {
				t.Errorf("parseVerify(%q) = %d, %x, %v", c.verify, user, mac, err)
			}
		})
	}
}

func TestCheckExpires(t *testing.T) {
	const now = 1_800_000_000
	for _, c := range []struct {
		name, body string
		code       int // 0: accepted
	}{
		{"None", `{"method":"m","id":0,"jsonrpc":"2.0"}`, 0},
		{"Ahead", `{"method":"m","expires":1800086400}`, 0},
		{"Now", `{"method":"m","expires":1800000000}`, 0},
		{"Past", `{"method":"m","expires":1799999999}`, CodeTimestampInvalid},
		{"NotWhole", `{"method":"m","expires":1.8e9}`, CodeTimestampInvalid},
		{"String", `{"method":"m","expires":"1800086400"}`, CodeTimestampInvalid},
		{"BatchOnePast", `[{"expires":1800086400},{"expires":5}]`, CodeTimestampInvalid},
		{"NotJSON", `{"method":`, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkExpires([]byte(c.body), now)
			if c.code == 0 && err != nil || c.code != 0 && (err == nil || ErrorCode(err) != c.code) {
				t.Errorf("checkExpires(%s) = %v; want code %d", c.body, err, c.code)
			}
		})
	}
}

// FuzzVerify checks that no verify value or body makes the parsers panic, and that an
// accepted verify names a user above 0 and a signature of one of the two HMACs' sizes.
func FuzzVerify(f *testing.F) {
	f.Add("1:"+strings.Repeat("ab", 16), `{"expires":1}`)
	f.Add("12:"+strings.Repeat("cd", 32), `[{"expires":-1},{}]`)
	f.Add(":", `[`)
	f.Fuzz(func(t *testing.T, verify, body string) {
		user, mac, h, err := parseVerify(verify)
		if err == nil && (user <= 0 || h().Size() != len(mac)) {
			t.Errorf("parseVerify(%q) accepted user %d, %d bytes", verify, user, len(mac))
		}
		_ = checkExpires([]byte(body), 1_800_000_000)
	})
}
