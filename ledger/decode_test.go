package ledger_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
)

func TestDecodeBatchExample(t *testing.T) {
	// DESIGN 2.5, the seed's instance.
	body := `{"specversion": "1.0", "id": "op-1001", "source": "provisioner/uk-reading", "time": "2016-02-01T12:58:00Z",
     "type": "cloudmeter.resource.provisioned",
     "data": {"product_id": 2416, "resource_type": "instance", "user_id": 1, "infrastructure_id": 3668,
              "infrastructure_label": "d-lake", "datacenter": "uk-reading", "label": "instance-2416",
              "subdomain": "instance-2416.new-instance-array.d-lake.1.integration.metalsoft.io", "attributes": {}}}`
	events, err := ledger.DecodeBatch("application/cloudevents+json", []byte(body), ledger.Limits{MaxEvents: 10})
	if err != nil {
		t.Fatal(err)
	}
	data := `{"attributes":{},"datacenter":"uk-reading","infrastructure_id":3668,"infrastructure_label":"d-lake",` +
		`"label":"instance-2416","product_id":2416,"resource_type":"instance",` +
		`"subdomain":"instance-2416.new-instance-array.d-lake.1.integration.metalsoft.io","user_id":1}`
	sum := sha256.Sum256([]byte("cloudmeter.resource.provisioned\n1454331480\n\n" + data))
	want := []cloudmeter.Event{{
		Source:    "provisioner/uk-reading",
		ID:        "op-1001",
		Type:      cloudmeter.EventProvisioned,
		Time:      1454331480,
		ProductID: 2416,
		Provision: &cloudmeter.Provision{
			ResourceType:        cloudmeter.ResourceInstance,
			UserID:              1,
			InfrastructureID:    3668,
			InfrastructureLabel: "d-lake",
			Datacenter:          "uk-reading",
			Label:               "instance-2416",
			Subdomain:           "instance-2416.new-instance-array.d-lake.1.integration.metalsoft.io",
		},
		Data:   []byte(data),
		Digest: hex.EncodeToString(sum[:]),
	}}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("DecodeBatch (-want +got):\n%s", diff)
	}
}

func TestDecodeBatchContentType(t *testing.T) {
	one := event(cloudmeter.EventDeleted, dataDeleted)
	tests := []struct {
		name        string
		contentType string
		body        string
		wantEvents  int
		wantErr     string // substring of the message; "" for success
	}{
		{"OKEvent", "application/cloudevents+json", one, 1, ""},
		{"OKEventCharset", "application/cloudevents+json; charset=utf-8", one, 1, ""},
		{"OKEventUpperCase", "Application/CloudEvents+JSON", one, 1, ""},
		{"OKBatch", "application/cloudevents-batch+json", batch(one, one), 2, ""},
		{"OKBatchOfOne", "application/cloudevents-batch+json", batch(one), 1, ""},
		{"OKJSONObject", "application/json", one, 1, ""},
		{"OKJSONArray", "application/json;charset=UTF-8", batch(one, one, one), 3, ""},
		{"OKMissingObject", "", one, 1, ""},
		{"OKMissingArray", "", batch(one), 1, ""},
		{"ErrUnsupported", "text/plain", one, 0, `Content-Type "text/plain" is not supported: send application/cloudevents+json (one event), application/cloudevents-batch+json (a JSON array of events) or application/json (either)`},
		{"ErrStructuredXML", "application/cloudevents+xml", one, 0, "is not supported"},
		{"ErrArrayAsEvent", "application/cloudevents+json", batch(one), 0, "takes one event as a JSON object, not an array"},
		{"ErrObjectAsBatch", "application/cloudevents-batch+json", one, 0, "takes a JSON array of events, not an object"},
		{"ErrString", "application/json", `"event"`, 0, "must be a JSON object (one event) or a JSON array of events, not a string"},
		{"ErrNumber", "", `12`, 0, "not a number"},
		{"ErrNull", "", `null`, 0, "not null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ledger.DecodeBatch(tt.contentType, []byte(tt.body), ledger.Limits{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(events) != tt.wantEvents {
					t.Errorf("got %d events, want %d", len(events), tt.wantEvents)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %d events, want an error", len(events))
			}
			if e := domainError(t, err); e.Kind != cloudmeter.KindInvalid || !strings.Contains(e.Message, tt.wantErr) {
				t.Errorf("error = %s %q, want %s containing %q", e.Kind, e.Message, cloudmeter.KindInvalid, tt.wantErr)
			}
			if events != nil {
				t.Errorf("got events with an error")
			}
		})
	}
}

func TestDecodeBatchBody(t *testing.T) {
	one := event(cloudmeter.EventDeleted, dataDeleted)
	tests := []struct {
		name     string
		body     string
		max      int
		wantKind cloudmeter.Kind // "" for success
		wantMsg  string
	}{
		{"OKAtLimit", batch(one, one, one), 3, "", ""},
		{"OKNoLimit", batch(one, one, one), 0, "", ""},
		{"OKSurroundingSpace", " \n\t" + batch(one) + "\r\n ", 0, "", ""},
		{"ErrEmpty", "", 0, cloudmeter.KindInvalid, "the request body is empty: send one event as a JSON object or a batch as a JSON array"},
		{"ErrOnlySpace", " \n ", 0, cloudmeter.KindInvalid, "the request body is empty: send one event as a JSON object or a batch as a JSON array"},
		{"ErrEmptyArray", "[ ]", 0, cloudmeter.KindInvalid, "the batch has no events"},
		{"ErrTooLarge", batch(one, one, one, one), 3, cloudmeter.KindTooLarge, "the batch has 4 events; at most 3 are allowed in one request"},
		{"ErrMalformed", `[{"id": "a",}]`, 0, cloudmeter.KindInvalid, "the request body is not valid JSON: at byte offset 12: invalid character '}' looking for beginning of object key string"},
		{"ErrTruncated", `[{"id": "a"`, 0, cloudmeter.KindInvalid, "the request body is not valid JSON: at byte offset 11: unexpected end of JSON input"},
		{"ErrTrailingData", `{} {}`, 0, cloudmeter.KindInvalid, "the request body is not valid JSON: at byte offset 3: invalid character '{' after top-level value"},
		{"ErrInvalidUTF8", "[{\"id\": \"a\xffb\"}]", 0, cloudmeter.KindInvalid, "the request body is not valid UTF-8: bad byte at offset 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ledger.DecodeBatch("", []byte(tt.body), ledger.Limits{MaxEvents: tt.max})
			if tt.wantKind == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(events) == 0 {
					t.Errorf("got no events")
				}
				return
			}
			if err == nil {
				t.Fatalf("got %d events, want an error", len(events))
			}
			e := domainError(t, err)
			if diff := cmp.Diff(tt.wantMsg, e.Message); e.Kind != tt.wantKind || diff != "" {
				t.Errorf("error kind = %s, want %s; message (-want +got):\n%s", e.Kind, tt.wantKind, diff)
			}
		})
	}
}

func TestDecodeBatchAttributes(t *testing.T) {
	del := func(set ...string) string { return event(cloudmeter.EventDeleted, dataDeleted, set...) }
	long := strings.Repeat("x", 256)
	tests := []struct {
		name string
		body string
		want []ledger.EventError // nil: valid
	}{
		{"OK", del(), nil},
		{"OKExtension", del("traceparent", `"00-abc"`, "partitionkey", `{"any": ["value"]}`, "x1", `7`), nil},
		{"OKDataContentType", del("datacontenttype", `"application/json"`), nil},
		{"OKDataContentTypeCharset", del("datacontenttype", `"Application/JSON; charset=utf-8"`), nil},
		{"OKSubject", del("subject", `"instance-2416"`), nil},
		{"OKDataSchema", del("dataschema", `"https://cloudmeter.example/schemas/deleted"`), nil},
		{"OKNullOptional", del("subject", `null`, "dataschema", `null`, "datacontenttype", `null`, "data_base64", `null`), nil},
		{"OKFractionalTime", del("time", `"2016-02-01T12:58:00.999999999Z"`), nil},
		{"OKOffsetTime", del("time", `"2016-02-01T13:58:00+01:00"`), nil},
		{"OKKeyAt256Bytes", del("id", `"`+long+`"`, "source", `"`+long+`"`), nil},
		{"OKEscapedName", del("\\u0069d", `"op-1"`, "id", "-"), nil},

		{"ErrMissingSpecVersion", del("specversion", "-"), []ledger.EventError{{0, "specversion", "is required"}}},
		{"ErrNullSpecVersion", del("specversion", "null"), []ledger.EventError{{0, "specversion", "is required"}}},
		{"ErrSpecVersion03", del("specversion", `"0.3"`), []ledger.EventError{{0, "specversion", `must be "1.0"`}}},
		{"ErrSpecVersionNumber", del("specversion", `1.0`), []ledger.EventError{{0, "specversion", `must be "1.0"`}}},
		{"ErrMissingID", del("id", "-"), []ledger.EventError{{0, "id", "is required"}}},
		{"ErrEmptyID", del("id", `""`), []ledger.EventError{{0, "id", "must be a non-empty string"}}},
		{"ErrNumberID", del("id", `1001`), []ledger.EventError{{0, "id", "must be a non-empty string"}}},
		{"ErrLongID", del("id", `"`+long+`x"`), []ledger.EventError{{0, "id", "must be at most 256 bytes long"}}},
		{"ErrControlID", del("id", `"op\n1"`), []ledger.EventError{{0, "id", "must not contain control characters"}}},
		{"ErrMissingSource", del("source", "-"), []ledger.EventError{{0, "source", "is required"}}},
		{"ErrEmptySource", del("source", `""`), []ledger.EventError{{0, "source", "must be a non-empty string"}}},
		{"ErrLongSource", del("source", `"`+long+`x"`), []ledger.EventError{{0, "source", "must be at most 256 bytes long"}}},
		{"ErrMissingType", del("type", "-"), []ledger.EventError{{0, "type", "is required"}}},
		{"ErrUnknownType", del("type", `"cloudmeter.resource.exploded"`), []ledger.EventError{{0, "type", "must be one of cloudmeter.resource.provisioned, cloudmeter.resource.changed, cloudmeter.resource.stopped, cloudmeter.resource.started, cloudmeter.resource.deleted, cloudmeter.traffic.metered"}}},
		{"ErrMissingTime", del("time", "-"), []ledger.EventError{{0, "time", "is required"}}},
		{"ErrTimeNotRFC3339", del("time", `"2016-02-01 12:58:00"`), []ledger.EventError{{0, "time", `"2016-02-01 12:58:00" is not an RFC 3339 timestamp such as 2024-01-31T23:59:59Z`}}},
		{"ErrTimeNoZone", del("time", `"2016-02-01T12:58:00"`), []ledger.EventError{{0, "time", `"2016-02-01T12:58:00" is not an RFC 3339 timestamp such as 2024-01-31T23:59:59Z`}}},
		{"ErrTimeNumber", del("time", `1454331480`), []ledger.EventError{{0, "time", "must be an RFC 3339 timestamp such as 2024-01-31T23:59:59Z"}}},
		{"ErrTimeBefore1970", del("time", `"1969-12-31T23:59:59Z"`), []ledger.EventError{{0, "time", `"1969-12-31T23:59:59Z" is outside the years 1970 to 9999`}}},
		{"ErrDataContentTypeXML", del("datacontenttype", `"application/xml"`), []ledger.EventError{{0, "datacontenttype", `must be "application/json"`}}},
		{"ErrEmptySubject", del("subject", `""`), []ledger.EventError{{0, "subject", "must be a non-empty string"}}},
		{"ErrControlSubject", del("subject", `"a\u0000b"`), []ledger.EventError{{0, "subject", "must not contain control characters"}}},
		{"ErrEmptyDataSchema", del("dataschema", `""`), []ledger.EventError{{0, "dataschema", "must be a non-empty string"}}},
		{"ErrDataBase64", del("data", "-", "data_base64", `"eyJwcm9kdWN0X2lkIjoxfQ=="`), []ledger.EventError{
			{0, "data_base64", "is not supported: send data as a JSON object in data"},
			{0, "data", "is required"},
		}},
		{"ErrMissingData", del("data", "-"), []ledger.EventError{{0, "data", "is required"}}},
		{"ErrNullData", del("data", "null"), []ledger.EventError{{0, "data", "must be a JSON object"}}},
		{"ErrArrayData", del("data", `[{"product_id": 1}]`), []ledger.EventError{{0, "data", "must be a JSON object"}}},
		{"ErrStringData", del("data", `"{\"product_id\": 1}"`), []ledger.EventError{{0, "data", "must be a JSON object"}}},
		{"ErrUpperCaseName", del("Subject", `"x"`), []ledger.EventError{{0, "Subject", `is not a CloudEvents attribute (attribute names are lower-case letters and digits): did you mean "subject"?`}}},
		{"ErrDataFieldAtTop", del("product_id", `2416`), []ledger.EventError{{0, "product_id", "is not a CloudEvents attribute (attribute names are lower-case letters and digits): product_id belongs inside data"}}},
		{"ErrExtensionName", del("trace-id", `"x"`), []ledger.EventError{{0, "trace-id", "is not a CloudEvents attribute (attribute names are lower-case letters and digits)"}}},
		{"ErrDuplicateAttribute", `{"specversion": "1.0", "id": "a", "id": "b", "source": "s", "type": "cloudmeter.resource.deleted", "time": "` + t0 + `", "data": {"product_id": 1}}`,
			[]ledger.EventError{{0, "id", "appears more than once"}}},
		{"ErrNotAnObject", batch(del(), `"op-1002"`), []ledger.EventError{{1, "", "must be a JSON object (one CloudEvent), not a string"}}},
		{"ErrEverything", `{"data": 1}`, []ledger.EventError{
			{0, "specversion", "is required"},
			{0, "id", "is required"},
			{0, "source", "is required"},
			{0, "type", "is required"},
			{0, "time", "is required"},
			{0, "data", "must be a JSON object"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ledger.DecodeBatch("application/json", []byte(tt.body), ledger.Limits{})
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(events) != 1 {
					t.Fatalf("got %d events, want 1", len(events))
				}
				return
			}
			if diff := cmp.Diff(tt.want, details(t, err)); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
			if events != nil {
				t.Errorf("got events with an error")
			}
		})
	}
}

func TestDecodeBatchFields(t *testing.T) {
	// The attributes every valid event below carries.
	e := mustDecodeOne(t, event(cloudmeter.EventDeleted, dataDeleted,
		"id", `"op-7"`, "source", `"src"`, "time", `"2016-02-01T12:58:00.75+00:00"`, "subject", `"instance-2416"`))
	got := struct {
		Source, ID, Subject string
		Type                cloudmeter.EventType
		Time                int64
	}{e.Source, e.ID, e.Subject, e.Type, e.Time}
	want := struct {
		Source, ID, Subject string
		Type                cloudmeter.EventType
		Time                int64
	}{"src", "op-7", "instance-2416", cloudmeter.EventDeleted, t0Unix}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestDecodeBatchTime(t *testing.T) {
	tests := []struct {
		name string
		time string
		want int64
	}{
		{"OK", "2016-02-01T12:58:00Z", t0Unix},
		{"OKFractionTruncated", "2016-02-01T12:58:00.999999999Z", t0Unix},
		{"OKOffsetToUTC", "2016-02-01T13:58:00+01:00", t0Unix},
		{"OKNegativeOffset", "2016-02-01T07:58:00.5-05:00", t0Unix},
		{"OKEpoch", "1970-01-01T00:00:00Z", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustDecodeOne(t, event(cloudmeter.EventDeleted, dataDeleted, "time", `"`+tt.time+`"`))
			if e.Time != tt.want {
				t.Errorf("Time = %d (%s), want %d", e.Time, cloudmeter.FormatTime(e.Time), tt.want)
			}
		})
	}
}

func TestDecodeBatchData(t *testing.T) {
	const (
		prov    = cloudmeter.EventProvisioned
		changed = cloudmeter.EventChanged
		stopped = cloudmeter.EventStopped
		started = cloudmeter.EventStarted
		deleted = cloudmeter.EventDeleted
		traffic = cloudmeter.EventTrafficMetered
	)
	seedProvision := &cloudmeter.Provision{
		ResourceType: cloudmeter.ResourceInstance, UserID: 1, InfrastructureID: 3668, InfrastructureLabel: "d-lake",
		Datacenter: "uk-reading", Label: "instance-2416", Subdomain: "instance-2416.new-instance-array.d-lake.1.integration.metalsoft.io",
	}
	minimal := `"product_id": 5, "resource_type": "drive", "user_id": 7, "infrastructure_id": 9, "datacenter": "dc"`
	minimalProvision := &cloudmeter.Provision{ResourceType: cloudmeter.ResourceDrive, UserID: 7, InfrastructureID: 9, Datacenter: "dc"}
	attrs := func(a string) string { return `{"product_id": 5, "attributes": {` + a + `}}` }
	reasonChangedFields := "is not a field of cloudmeter.resource.changed events (they have product_id, attributes)"
	tests := []struct {
		name    string
		typ     cloudmeter.EventType
		data    string
		want    typed               // for a valid event
		wantErr []ledger.EventError // nil: valid
	}{
		// provisioned
		{"OKProvisioned", prov, dataProvisioned, typed{ProductID: 2416, Provision: seedProvision}, nil},
		{"OKProvisionedMinimal", prov, `{` + minimal + `}`, typed{ProductID: 5, Provision: minimalProvision}, nil},
		{"OKProvisionedExcludeBilling", prov, `{` + minimal + `, "exclude_billing": true}`,
			typed{ProductID: 5, Provision: &cloudmeter.Provision{ResourceType: cloudmeter.ResourceDrive, UserID: 7, InfrastructureID: 9, Datacenter: "dc", ExcludeBilling: true}}, nil},
		{"OKProvisionedExcludeBillingFalse", prov, `{` + minimal + `, "exclude_billing": false}`, typed{ProductID: 5, Provision: minimalProvision}, nil},
		{"OKProvisionedEmptyLabels", prov, `{` + minimal + `, "label": "", "subdomain": "", "infrastructure_label": ""}`, typed{ProductID: 5, Provision: minimalProvision}, nil},
		{"OKProvisionedAttributes", prov, `{` + minimal + `, "attributes": {"drive_size_mbytes": 41000, "storage_type": "iscsi_ssd", "vendor_note": {"x": 1}}}`,
			typed{ProductID: 5, Provision: minimalProvision, Attributes: cloudmeter.Attributes{DriveSizeMBytes: ptr[int64](41000), StorageType: ptr("iscsi_ssd")}}, nil},
		{"ErrProvisionedEmpty", prov, `{}`, typed{}, []ledger.EventError{
			{0, "data.product_id", "is required"},
			{0, "data.resource_type", "is required"},
			{0, "data.user_id", "is required"},
			{0, "data.infrastructure_id", "is required"},
			{0, "data.datacenter", "is required"},
		}},
		{"ErrProvisionedResourceType", prov, `{"product_id": 5, "resource_type": "vm", "user_id": 7, "infrastructure_id": 9, "datacenter": "dc"}`, typed{},
			[]ledger.EventError{{0, "data.resource_type", "must be one of instance, drive, shared_drive, subnet, network, data_lake"}}},
		{"ErrProvisionedBadValues", prov, `{"product_id": 0, "resource_type": 3, "user_id": -1, "infrastructure_id": "9", "datacenter": "",
			"label": 1, "subdomain": null, "infrastructure_label": false, "exclude_billing": "yes", "attributes": []}`, typed{}, []ledger.EventError{
			{0, "data.attributes", "must be a JSON object"},
			{0, "data.datacenter", "must be a non-empty string"},
			{0, "data.exclude_billing", "must be true or false"},
			{0, "data.infrastructure_id", "must be a whole number above 0"},
			{0, "data.infrastructure_label", "must be a string"},
			{0, "data.label", "must be a string"},
			{0, "data.product_id", "must be a whole number above 0"},
			{0, "data.resource_type", "must be one of instance, drive, shared_drive, subnet, network, data_lake"},
			{0, "data.subdomain", "must be a string"},
			{0, "data.user_id", "must be a whole number above 0"},
		}},
		{"ErrProvisionedUnknownField", prov, `{` + minimal + `, "lable": "x", "state": "stopped"}`, typed{}, []ledger.EventError{
			{0, "data.lable", "is not a field of cloudmeter.resource.provisioned events (they have product_id, resource_type, user_id, infrastructure_id, infrastructure_label, datacenter, label, subdomain, attributes, exclude_billing)"},
			{0, "data.state", "is not a field of cloudmeter.resource.provisioned events (they have product_id, resource_type, user_id, infrastructure_id, infrastructure_label, datacenter, label, subdomain, attributes, exclude_billing)"},
		}},
		{"ErrProvisionedDuplicateField", prov, `{` + minimal + `, "user_id": 8}`, typed{}, []ledger.EventError{{0, "data.user_id", "appears more than once"}}},
		{"ErrProvisionedUpperCaseField", prov, `{` + minimal + `, "Label": "x"}`, typed{}, []ledger.EventError{
			{0, "data.Label", "is not a field of cloudmeter.resource.provisioned events (they have product_id, resource_type, user_id, infrastructure_id, infrastructure_label, datacenter, label, subdomain, attributes, exclude_billing)"},
		}},

		// changed
		{"OKChanged", changed, dataChanged, typed{ProductID: 2416, Attributes: cloudmeter.Attributes{ServerTypeID: ptr[int64](12)}}, nil},
		{"OKChangedAllAttributes", changed, attrs(`"server_type_id": 1, "server_type_name": "M.8.8", "drive_size_mbytes": 2, "shared_drive_size_mbytes": 3,
			"storage_type": "iscsi_hdd", "subnet_type": "ipv6", "subnet_prefix_size": 128, "measurement_period": 31622400`),
			typed{ProductID: 5, Attributes: cloudmeter.Attributes{
				ServerTypeID: ptr[int64](1), ServerTypeName: ptr("M.8.8"), DriveSizeMBytes: ptr[int64](2), SharedDriveSizeMBytes: ptr[int64](3),
				StorageType: ptr("iscsi_hdd"), SubnetType: ptr("ipv6"), SubnetPrefixSize: ptr[int64](128), MeasurementPeriod: ptr[int64](31622400),
			}}, nil},
		{"OKChangedIPv4Prefix", changed, attrs(`"subnet_type": "ipv4", "subnet_prefix_size": 32`),
			typed{ProductID: 5, Attributes: cloudmeter.Attributes{SubnetType: ptr("ipv4"), SubnetPrefixSize: ptr[int64](32)}}, nil},
		{"OKChangedPrefixZero", changed, attrs(`"subnet_prefix_size": 0`),
			typed{ProductID: 5, Attributes: cloudmeter.Attributes{SubnetPrefixSize: ptr[int64](0)}}, nil},
		{"OKChangedUnknownAttribute", changed, attrs(`"gpu_model": "H100"`), typed{ProductID: 5}, nil},
		{"ErrChangedMissing", changed, `{}`, typed{}, []ledger.EventError{
			{0, "data.product_id", "is required"},
			{0, "data.attributes", "is required"},
		}},
		{"ErrChangedEmptyAttributes", changed, attrs(``), typed{}, []ledger.EventError{{0, "data.attributes", "must set at least one attribute"}}},
		{"ErrChangedNullAttributes", changed, `{"product_id": 5, "attributes": null}`, typed{}, []ledger.EventError{{0, "data.attributes", "must be a JSON object"}}},
		{"ErrChangedUnknownField", changed, `{"product_id": 5, "attributes": {"server_type_id": 1}, "server_type_id": 1}`, typed{},
			[]ledger.EventError{{0, "data.server_type_id", reasonChangedFields}}},
		{"ErrChangedBadAttributes", changed, attrs(`"server_type_id": 0, "server_type_name": "", "drive_size_mbytes": 1.5, "shared_drive_size_mbytes": "3",
			"storage_type": 4, "subnet_type": "ipv5", "subnet_prefix_size": 129, "measurement_period": 31622401`), typed{}, []ledger.EventError{
			{0, "data.attributes.drive_size_mbytes", "must be a whole number from 1 to 1099511627776"},
			{0, "data.attributes.measurement_period", "must be a whole number from 1 to 31622400"},
			{0, "data.attributes.server_type_id", "must be a whole number above 0"},
			{0, "data.attributes.server_type_name", "must be a non-empty string"},
			{0, "data.attributes.shared_drive_size_mbytes", "must be a whole number from 1 to 1099511627776"},
			{0, "data.attributes.storage_type", "must be a string"},
			{0, "data.attributes.subnet_prefix_size", "must be a whole number from 0 to 128"},
			{0, "data.attributes.subnet_type", `must be "ipv4" or "ipv6"`},
		}},
		{"ErrChangedIPv4Prefix", changed, attrs(`"subnet_type": "ipv4", "subnet_prefix_size": 33`), typed{},
			[]ledger.EventError{{0, "data.attributes.subnet_prefix_size", "must be a whole number from 0 to 32 for an ipv4 subnet"}}},
		{"ErrChangedNegativePrefix", changed, attrs(`"subnet_prefix_size": -1`), typed{},
			[]ledger.EventError{{0, "data.attributes.subnet_prefix_size", "must be a whole number from 0 to 128"}}},
		{"ErrChangedZeroPeriod", changed, attrs(`"measurement_period": 0`), typed{},
			[]ledger.EventError{{0, "data.attributes.measurement_period", "must be a whole number from 1 to 31622400"}}},
		{"ErrChangedDuplicateAttribute", changed, attrs(`"server_type_id": 1, "server_type_id": 2`), typed{},
			[]ledger.EventError{{0, "data.attributes.server_type_id", "appears more than once"}}},
		{"ErrChangedNullAttribute", changed, attrs(`"server_type_id": null`), typed{},
			[]ledger.EventError{{0, "data.attributes.server_type_id", "must be a whole number above 0"}}},

		// stopped, started, deleted
		{"OKStopped", stopped, dataStopped, typed{ProductID: 2416, State: cloudmeter.StateStopped}, nil},
		{"OKStoppedExplicit", stopped, `{"product_id": 3, "state": "stopped"}`, typed{ProductID: 3, State: cloudmeter.StateStopped}, nil},
		{"OKHibernated", stopped, `{"product_id": 3, "state": "hibernated"}`, typed{ProductID: 3, State: cloudmeter.StateHibernated}, nil},
		{"ErrStoppedState", stopped, `{"product_id": 3, "state": "active"}`, typed{},
			[]ledger.EventError{{0, "data.state", `must be "stopped" or "hibernated"`}}},
		{"ErrStoppedMissingProduct", stopped, `{"state": "hibernated"}`, typed{}, []ledger.EventError{{0, "data.product_id", "is required"}}},
		{"OKStarted", started, dataStarted, typed{ProductID: 2416, State: cloudmeter.StateActive}, nil},
		{"ErrStartedState", started, `{"product_id": 3, "state": "active"}`, typed{},
			[]ledger.EventError{{0, "data.state", "is not a field of cloudmeter.resource.started events (they have product_id)"}}},
		{"OKDeleted", deleted, dataDeleted, typed{ProductID: 2416}, nil},
		{"ErrDeletedMissingProduct", deleted, `{}`, typed{}, []ledger.EventError{{0, "data.product_id", "is required"}}},
		{"ErrDeletedAttributes", deleted, `{"product_id": 1, "attributes": {}}`, typed{},
			[]ledger.EventError{{0, "data.attributes", "is not a field of cloudmeter.resource.deleted events (they have product_id)"}}},

		// traffic.metered
		{"OKTrafficBytes", traffic, dataTraffic, typed{ProductID: 77}, nil},
		{"OKTrafficCounter", traffic, `{"product_id": 77, "direction": "download", "counter": 0}`, typed{ProductID: 77}, nil},
		{"OKTrafficZeroBytes", traffic, `{"product_id": 77, "direction": "download", "bytes": 0}`, typed{ProductID: 77}, nil},
		{"ErrTrafficBoth", traffic, `{"product_id": 77, "direction": "upload", "bytes": 1, "counter": 2}`, typed{},
			[]ledger.EventError{{0, "data", "must have bytes (a delta) or counter (a cumulative count), not both"}}},
		{"ErrTrafficNeither", traffic, `{"product_id": 77, "direction": "upload"}`, typed{},
			[]ledger.EventError{{0, "data", "must have bytes (a delta) or counter (a cumulative count)"}}},
		{"ErrTrafficMissing", traffic, `{"bytes": 1}`, typed{}, []ledger.EventError{
			{0, "data.product_id", "is required"},
			{0, "data.direction", "is required"},
		}},
		{"ErrTrafficBadValues", traffic, `{"product_id": 77, "direction": "sideways", "counter": -1}`, typed{}, []ledger.EventError{
			{0, "data.counter", "must be a whole number, 0 or more"},
			{0, "data.direction", `must be "upload" or "download"`},
		}},
		{"ErrTrafficNegativeBytes", traffic, `{"product_id": 77, "direction": "upload", "bytes": -5}`, typed{},
			[]ledger.EventError{{0, "data.bytes", "must be a whole number, 0 or more"}}},
		{"ErrTrafficUnknownField", traffic, `{"product_id": 77, "direction": "upload", "bytes": 5, "byte": 5}`, typed{},
			[]ledger.EventError{{0, "data.byte", "is not a field of cloudmeter.traffic.metered events (they have product_id, direction, bytes, counter)"}}},

		// canonical-data rules that apply to every type
		{"ErrNestedDuplicate", prov, `{` + minimal + `, "attributes": {"vendor": {"a": 1, "a": 1}}}`, typed{},
			[]ledger.EventError{{0, "data.attributes.vendor.a", "appears more than once"}}},
		{"ErrNULInValue", prov, `{` + minimal + `, "attributes": {"vendor": ["ok", "a\u0000b"]}}`, typed{},
			[]ledger.EventError{{0, "data.attributes.vendor[1]", "must not contain the character U+0000"}}},
		{"ErrNULInName", deleted, `{"product_id": 1, "a\u0000": 1}`, typed{}, []ledger.EventError{
			{0, "data.a\x00", "the name must not contain the character U+0000"},
			{0, "data.a\x00", "is not a field of cloudmeter.resource.deleted events (they have product_id)"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ledger.DecodeBatch("application/cloudevents+json", []byte(event(tt.typ, tt.data)), ledger.Limits{})
			if tt.wantErr != nil {
				if diff := cmp.Diff(tt.wantErr, details(t, err)); diff != "" {
					t.Errorf("details (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, typedOf(events[0])); diff != "" {
				t.Errorf("typed fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeBatchIntegers(t *testing.T) {
	tests := []struct {
		name   string
		value  string
		want   int64
		reason string // "" for valid
	}{
		{"OK", `1`, 1, ""},
		{"OKMaxInt64", `9223372036854775807`, 9223372036854775807, ""},
		{"ErrZero", `0`, 0, "must be a whole number above 0"},
		{"ErrNegative", `-3`, 0, "must be a whole number above 0"},
		{"ErrNegativeZero", `-0`, 0, "must be a whole number above 0"},
		{"ErrFraction", `2416.0`, 0, "must be a whole number above 0"},
		{"ErrExponent", `2.416e3`, 0, "must be a whole number above 0"},
		{"ErrIntegerExponent", `1e3`, 0, "must be a whole number above 0"},
		{"ErrString", `"2416"`, 0, "must be a whole number above 0"},
		{"ErrBool", `true`, 0, "must be a whole number above 0"},
		{"ErrNull", `null`, 0, "must be a whole number above 0"},
		{"ErrObject", `{"id": 1}`, 0, "must be a whole number above 0"},
		{"ErrTooLarge", `9223372036854775808`, 0, "must be a whole number no larger than 9223372036854775807"},
		{"ErrTooSmall", `-9223372036854775809`, 0, "must be a whole number above 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := event(cloudmeter.EventDeleted, `{"product_id": `+tt.value+`}`)
			events, err := ledger.DecodeBatch("", []byte(body), ledger.Limits{})
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if events[0].ProductID != tt.want {
					t.Errorf("ProductID = %d, want %d", events[0].ProductID, tt.want)
				}
				if got := string(events[0].Data); got != `{"product_id":`+tt.value+`}` {
					t.Errorf("Data = %s, want the literal number", got)
				}
				return
			}
			want := []ledger.EventError{{0, "data.product_id", tt.reason}}
			if diff := cmp.Diff(want, details(t, err)); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeBatchErrorDetails(t *testing.T) {
	ok := event(cloudmeter.EventDeleted, dataDeleted)
	body := batch(
		ok,
		event(cloudmeter.EventDeleted, `{"product_id": 1.5}`, "time", "-"),
		ok,
		event(cloudmeter.EventStopped, `{"product_id": 4, "state": "paused"}`, "specversion", `"0.3"`),
		ok,
	)
	events, err := ledger.DecodeBatch("application/cloudevents-batch+json", []byte(body), ledger.Limits{MaxEvents: 5})
	if events != nil {
		t.Errorf("got %d events with an error", len(events))
	}
	want := []ledger.EventError{
		{Index: 1, Field: "time", Reason: "is required"},
		{Index: 1, Field: "data.product_id", Reason: "must be a whole number above 0"},
		{Index: 3, Field: "specversion", Reason: `must be "1.0"`},
		{Index: 3, Field: "data.state", Reason: `must be "stopped" or "hibernated"`},
	}
	if diff := cmp.Diff(want, details(t, err)); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
	wantMsg := `2 of 5 events are invalid: events[1].time: is required; events[1].data.product_id: must be a whole number above 0; ` +
		`events[3].specversion: must be "1.0"; and 1 more`
	if diff := cmp.Diff(wantMsg, err.Error()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}

func TestDecodeBatchErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"OneEvent", event(cloudmeter.EventDeleted, dataDeleted, "time", "-"), "1 of 1 events is invalid: events[0].time: is required"},
		{"ThreeErrors", event(cloudmeter.EventDeleted, dataDeleted, "time", "-", "id", "-", "source", "-"),
			"1 of 1 events is invalid: events[0].id: is required; events[0].source: is required; events[0].time: is required"},
		{"NotAnObject", batch(`1`, `2`), "2 of 2 events are invalid: events[0]: must be a JSON object (one CloudEvent), not a number; " +
			"events[1]: must be a JSON object (one CloudEvent), not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ledger.DecodeBatch("", []byte(tt.body), ledger.Limits{})
			if err == nil {
				t.Fatal("got no error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeBatchMaxDetails(t *testing.T) {
	bad := event(cloudmeter.EventDeleted, `{"product_id": 0}`)
	evs := make([]string, 1500)
	for i := range evs {
		evs[i] = bad
	}
	_, err := ledger.DecodeBatch("", []byte(batch(evs...)), ledger.Limits{})
	d := details(t, err)
	if len(d) != ledger.MaxDetails {
		t.Errorf("got %d details, want %d", len(d), ledger.MaxDetails)
	}
	if d[len(d)-1].Index != ledger.MaxDetails-1 {
		t.Errorf("last detail is of event %d, want %d", d[len(d)-1].Index, ledger.MaxDetails-1)
	}
	if want := "1500 of 1500 events are invalid: "; !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "; and 1497 more") {
		t.Errorf("message = %q, want prefix %q and the count of the rest", err.Error(), want)
	}
}

func TestDecodeBatchOrder(t *testing.T) {
	var evs []string
	for i := range 5 {
		evs = append(evs, event(cloudmeter.EventDeleted, fmt.Sprintf(`{"product_id": %d}`, i+1), "id", fmt.Sprintf(`"op-%d"`, i)))
	}
	events := mustDecode(t, batch(evs...))
	for i, e := range events {
		if e.ID != fmt.Sprintf("op-%d", i) || e.ProductID != int64(i+1) {
			t.Errorf("event %d = %s product %d", i, e.ID, e.ProductID)
		}
	}
}

func TestCanonicalData(t *testing.T) {
	prefix := `"product_id": 5, "resource_type": "drive", "user_id": 7, "infrastructure_id": 9, "datacenter": "dc", `
	canonPrefix := `"datacenter":"dc","infrastructure_id":9,"product_id":5,"resource_type":"drive","user_id":7}`
	tests := []struct {
		name       string
		attributes string
		want       string // canonical attributes
	}{
		{"OKEmpty", `{ }`, `{}`},
		{"OKSorted", `{"z": 1, "a": {"y": true, "b": null, "m": [3, 1, 2]}}`, `{"a":{"b":null,"m":[3,1,2],"y":true},"z":1}`},
		{"OKNestedArrays", `{"a": [ [ ], [{"d": 1, "c": 2}], {} ]}`, `{"a":[[],[{"c":2,"d":1}],{}]}`},
		{"OKNumbersLiteral", `{"a": 1.50, "b": -0, "c": 1E+2, "d": 12345678901234567890123}`, `{"a":1.50,"b":-0,"c":1E+2,"d":12345678901234567890123}`},
		{"OKEscapesDecoded", `{"\u0061": "\u00e9\/\u0041", "b": "tab\there"}`, `{"a":"é/A","b":"tab\there"}`},
		{"OKNoHTMLEscaping", `{"a": "<b> & \u003c"}`, `{"a":"<b> & <"}`},
		{"OKLineSeparators", "{\"a\": \"x\u2028y\", \"b\": \"\\u2029\"}", `{"a":"x\u2028y","b":"\u2029"}`},
		{"OKQuotesAndBackslashes", `{"a": "say \"hi\" \\ \u005c"}`, `{"a":"say \"hi\" \\ \\"}`},
		{"OKControl", `{"a": "\u0001\u001f\n"}`, `{"a":"\u0001\u001f\n"}`},
		{"OKUnicodeKeysSortByBytes", `{"é": 1, "z": 2, "Z": 3}`, `{"Z":3,"z":2,"é":1}`},
		{"OKEscapedKeySorts", `{"b": 1, "\u0061": 2}`, `{"a":2,"b":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustDecodeOne(t, event(cloudmeter.EventProvisioned, "{"+prefix+`"attributes": `+tt.attributes+"}"))
			want := `{"attributes":` + tt.want + `,` + canonPrefix
			if diff := cmp.Diff(want, string(e.Data)); diff != "" {
				t.Errorf("Data (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	base := mustDecodeOne(t, event(cloudmeter.EventProvisioned, dataProvisioned))
	sameData := `{"attributes":{}, "subdomain": "instance-2416.new-instance-array.d-lake.1.integration.metalsoft.io",
		"label": "instance-2416", "datacenter": "uk-reading", "infrastructure_label": "d-lake", "infrastructure_id": 3668,
		"user_id": 1, "resource_type": "instance", "product_id": 2416}`
	compact := `{"product_id":2416,"resource_type":"instance","user_id":1,"infrastructure_id":3668,"infrastructure_label":"d-lake",` +
		`"datacenter":"uk-reading","label":"instance-2416","subdomain":"instance-2416.new-instance-array.d-lake.1.integration.metalsoft.io","attributes":{}}`
	escaped := strings.Replace(compact, `"d-lake"`, `"d\u002dlake"`, 1)
	prov := cloudmeter.EventProvisioned
	tests := []struct {
		name string
		body string
		same bool
	}{
		{"SameKeyOrder", event(prov, sameData), true},
		{"SameWhitespace", event(prov, compact), true},
		{"SameEscapes", event(prov, escaped), true},
		{"SameFraction", event(prov, dataProvisioned, "time", `"2016-02-01T12:58:00.999Z"`), true},
		{"SameOffset", event(prov, dataProvisioned, "time", `"2016-02-01T14:58:00+02:00"`), true},
		{"SameAttributeOrder", `{"data": ` + compact + `, "time": "` + t0 + `", "type": "` + string(prov) + `", "source": "provisioner/uk-reading", "id": "op-1001", "specversion": "1.0"}`, true},
		{"SameOtherKey", event(prov, dataProvisioned, "id", `"op-9"`, "source", `"elsewhere"`), true},
		{"SameExtension", event(prov, dataProvisioned, "traceparent", `"00-1"`), true},
		{"SameNullSubject", event(prov, dataProvisioned, "subject", `null`), true},
		{"DiffData", event(prov, strings.Replace(compact, `"user_id":1`, `"user_id":2`, 1)), false},
		{"DiffNumberText", event(prov, strings.Replace(compact, `"attributes":{}`, `"attributes":{"x":1.0}`, 1)), false},
		{"DiffUnknownAttribute", event(prov, strings.Replace(compact, `"attributes":{}`, `"attributes":{"x":1}`, 1)), false},
		{"DiffSecond", event(prov, dataProvisioned, "time", `"2016-02-01T12:58:01Z"`), false},
		{"DiffSubject", event(prov, dataProvisioned, "subject", `"instance-2416"`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustDecodeOne(t, tt.body)
			if got := e.Digest == base.Digest; got != tt.same {
				t.Errorf("digest %s vs %s: same = %v, want %v (data %s)", e.Digest, base.Digest, got, tt.same, e.Data)
			}
			if len(e.Digest) != 64 || strings.ToLower(e.Digest) != e.Digest {
				t.Errorf("digest %q is not 64 lowercase hex digits", e.Digest)
			}
		})
	}
	t.Run("DiffType", func(t *testing.T) {
		// Provisioned data is invalid for any other type; compare the deleted and started
		// events of one product instead: same data, different type.
		a := mustDecodeOne(t, event(cloudmeter.EventDeleted, dataDeleted))
		b := mustDecodeOne(t, event(cloudmeter.EventStarted, dataDeleted))
		if string(a.Data) != string(b.Data) || a.Digest == b.Digest {
			t.Errorf("deleted and started with data %s have digests %s and %s", a.Data, a.Digest, b.Digest)
		}
	})
}

func TestDecodeData(t *testing.T) {
	bodies := map[string]string{
		"Provisioned": event(cloudmeter.EventProvisioned, `{"product_id": 5, "resource_type": "subnet", "user_id": 7, "infrastructure_id": 9,
			"datacenter": "dc", "label": "l", "subdomain": "s", "infrastructure_label": "i", "exclude_billing": true,
			"attributes": {"subnet_type": "ipv4", "subnet_prefix_size": 27, "extra": [1, {"b": 2}]}}`),
		"ProvisionedSeed": event(cloudmeter.EventProvisioned, dataProvisioned),
		"Changed":         event(cloudmeter.EventChanged, dataChanged),
		"Stopped":         event(cloudmeter.EventStopped, dataStopped),
		"Hibernated":      event(cloudmeter.EventStopped, `{"product_id": 1, "state": "hibernated"}`),
		"Started":         event(cloudmeter.EventStarted, dataStarted),
		"Deleted":         event(cloudmeter.EventDeleted, dataDeleted),
		"Traffic":         event(cloudmeter.EventTrafficMetered, dataTraffic),
		"TrafficCounter":  event(cloudmeter.EventTrafficMetered, `{"product_id": 1, "direction": "download", "counter": 12}`),
	}
	for name, body := range bodies {
		t.Run("OK"+name, func(t *testing.T) {
			want := mustDecodeOne(t, body)
			got := cloudmeter.Event{Source: want.Source, ID: want.ID, Type: want.Type, Time: want.Time,
				Subject: want.Subject, Data: want.Data, Digest: want.Digest}
			if err := ledger.DecodeData(&got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("DecodeData (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("OKResetsTypedFields", func(t *testing.T) {
		e := cloudmeter.Event{Type: cloudmeter.EventDeleted, Data: []byte(`{"product_id":3}`),
			Provision: &cloudmeter.Provision{UserID: 1}, State: cloudmeter.StateStopped,
			Attributes: cloudmeter.Attributes{ServerTypeID: ptr[int64](1)}}
		if err := ledger.DecodeData(&e); err != nil {
			t.Fatal(err)
		}
		want := typed{ProductID: 3}
		if diff := cmp.Diff(want, typedOf(e)); diff != "" {
			t.Errorf("typed fields (-want +got):\n%s", diff)
		}
	})

	errTests := []struct {
		name string
		typ  cloudmeter.EventType
		data string
		want []ledger.EventError
	}{
		{"ErrUnknownType", "cloudmeter.resource.exploded", `{"product_id": 1}`, []ledger.EventError{{0, "type", "must be one of cloudmeter.resource.provisioned, cloudmeter.resource.changed, cloudmeter.resource.stopped, cloudmeter.resource.started, cloudmeter.resource.deleted, cloudmeter.traffic.metered"}}},
		{"ErrNotJSON", cloudmeter.EventDeleted, `{"product_id": 1`, []ledger.EventError{{0, "data", "is not valid JSON"}}},
		{"ErrEmpty", cloudmeter.EventDeleted, ``, []ledger.EventError{{0, "data", "is not valid JSON"}}},
		{"ErrNotUTF8", cloudmeter.EventDeleted, "{\"product_id\": 1, \"x\": \"\xff\"}", []ledger.EventError{{0, "data", "is not valid JSON"}}},
		{"ErrNotObject", cloudmeter.EventDeleted, `[1]`, []ledger.EventError{{0, "data", "must be a JSON object"}}},
		{"ErrRule", cloudmeter.EventStopped, `{"product_id": 1, "state": "on", "x": 1}`, []ledger.EventError{
			{0, "data.state", `must be "stopped" or "hibernated"`},
			{0, "data.x", "is not a field of cloudmeter.resource.stopped events (they have product_id, state)"},
		}},
		{"ErrDuplicate", cloudmeter.EventDeleted, `{"product_id": 1, "product_id": 2}`, []ledger.EventError{{0, "data.product_id", "appears more than once"}}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			e := cloudmeter.Event{Source: "s", ID: "i", Type: tt.typ, Data: []byte(tt.data), ProductID: 42}
			err := ledger.DecodeData(&e)
			if diff := cmp.Diff(tt.want, details(t, err)); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
			if e.ProductID != 42 {
				t.Errorf("DecodeData changed the event on error")
			}
		})
	}
}
