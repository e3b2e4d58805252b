using System.Globalization;
using Berth.Api.Models;
using Berth.Api.Validation;
using static Berth.Api.Tests.Validation.ServiceFixtures;

namespace Berth.Api.Tests.Validation;

/// <summary>
/// Upstream's TestValidateEndpointSlice, TestValidateEndpointSliceCreate and TestValidateEndpointSliceUpdate
/// (pkg/apis/discovery/validation/validation_test.go). Upstream counts errors; these check every error's field path
/// and message. Left out: "bad-meta" and the metadata part of "empty-everything" (name and namespace, which the
/// registry checks for every kind). "special-ipv4" and "special-ipv6" come from v1.33, which refuses loopback and
/// link-local slice addresses; v1.32, which Berth follows (and needs, its pod IPs being loopback), accepts them.
/// </summary>
public sealed class EndpointSliceValidationTests
{
    private const int MaxEndpoints = 1000;
    private const int MaxPorts = 20000;
    private const int MaxAddresses = 100;
    private const int MaxTopologyLabels = 16;

    private const string QualifiedNameRegexMessage =
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

    private const string LabelValueRegexMessage =
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    private static readonly Dictionary<string, EndpointSlice> s_valid = new()
    {
        ["good-slice"] = Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), Hostname = "valid-123" }]),
        ["good-ipv6"] = Slice("IPv6", [Port("http")], [new Endpoint { Addresses = ["a00:100::4"], Hostname = "valid-123" }]),
        ["good-fqdns"] = Slice("FQDN", [Port("http")],
            [new Endpoint { Addresses = ["foo.example.com", "example.com", "example.com.", "hyphens-are-good.example.com"], Hostname = "valid-123" }]),
        ["all-protocols"] = Slice("IPv4", [Port("tcp", "TCP"), Port("udp", "UDP"), Port("sctp", "SCTP")],
            [new Endpoint { Addresses = IPs(1), Hostname = "valid-123" }]),
        ["app-protocols"] = Slice("IPv4",
            [Port("one", appProtocol: "HTTP"), Port("two", appProtocol: "https"), Port("three", appProtocol: "my-protocol"),
                Port("four", appProtocol: "example.com/custom-protocol")],
            [new Endpoint { Addresses = IPs(1), Hostname = "valid-123" }]),
        ["empty-port-name"] = Slice("IPv4", [Port(""), Port("http")], [new Endpoint { Addresses = IPs(1) }]),
        ["long-port-name"] = Slice("IPv4", [Port(new string('a', 63))], [new Endpoint { Addresses = IPs(1) }]),
        ["empty-ports-and-endpoints"] = Slice("IPv4", [], []),
        ["max-endpoints"] = Slice("IPv4", Ports(1), Endpoints(MaxEndpoints)),
        ["max-ports"] = Slice("IPv4", Ports(MaxPorts), null),
        ["max-addresses"] = Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(MaxAddresses) }]),
        ["max-topology-keys"] = Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), DeprecatedTopology = Topology(MaxTopologyLabels) }]),
        ["valid-hints"] = Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), Hints = Hints("zone-a") }]),
        // From v1.33's table, where each is one error; v1.32 accepts them.
        ["special-ipv4"] = Slice("IPv4", [Port("http")], [new Endpoint { Addresses = ["127.0.0.1"], Hostname = "valid-123" }]),
        ["special-ipv6"] = Slice("IPv6", [Port("http")], [new Endpoint { Addresses = ["fe80::9656:d028:8652:66b6"], Hostname = "valid-123" }]),
        ["a Berth pod IP"] = Slice("IPv4", [Port("http")], [new Endpoint { Addresses = ["127.244.3.9"], NodeName = "node-1" }]),
    };

    private static readonly Dictionary<string, (EndpointSlice Slice, string[] Errors)> s_invalid = new()
    {
        ["duplicate-port-name"] = (Slice("IPv4", [Port(""), Port("")], []), ["ports[1].name: Duplicate value: \"\""]),
        ["bad-port-name-caps"] = (Slice("IPv4", [Port("aCapital")], []),
            [$"ports[0].name: Invalid value: \"aCapital\": {NameValidation.Dns1123LabelMessage}"]),
        ["bad-port-name-chars"] = (Slice("IPv4", [Port("almost_valid")], []),
            [$"ports[0].name: Invalid value: \"almost_valid\": {NameValidation.Dns1123LabelMessage}"]),
        ["bad-port-name-length"] = (Slice("IPv4", [Port(new string('a', 64))], []),
            [$"ports[0].name: Invalid value: \"{new string('a', 64)}\": must be no more than 63 characters"]),
        ["invalid-port-protocol"] = (Slice("IPv4", [Port("http", "foo")], null),
            ["ports[0].protocol: Unsupported value: \"foo\": supported values: \"SCTP\", \"TCP\", \"UDP\""]),
        ["too-many-ports"] = (Slice("IPv4", Ports(MaxPorts + 1), null), ["ports: Too many: 20001: must have at most 20000 items"]),
        ["too-many-endpoints"] = (Slice("IPv4", Ports(1), Endpoints(MaxEndpoints + 1)),
            ["endpoints: Too many: 1001: must have at most 1000 items"]),
        ["no-endpoint-addresses"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(0) }]),
            ["endpoints[0].addresses: Required value: must contain at least 1 address"]),
        ["too-many-addresses"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(MaxAddresses + 1) }]),
            ["endpoints[0].addresses: Too many: 101: must have at most 100 items"]),
        ["bad-topology-key"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), DeprecatedTopology = new() { ["--INVALID"] = "example" } }]),
            [$"endpoints[0].deprecatedTopology: Invalid value: \"--INVALID\": {QualifiedNameRegexMessage}"]),
        ["too-many-topology-keys"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), DeprecatedTopology = Topology(MaxTopologyLabels + 1) }]),
            ["endpoints[0].deprecatedTopology: Too many: 17: must have at most 16 items"]),
        ["bad-hostname"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), Hostname = "--INVALID" }]),
            [$"endpoints[0].hostname: Invalid value: \"--INVALID\": {NameValidation.Dns1123LabelMessage}"]),
        ["bad-ip"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = ["123.456.789.012"], Hostname = "valid-123" }]),
            ["endpoints[0].addresses[0]: Invalid value: \"123.456.789.012\": must be a valid IPv4 address"]),
        ["bad-ipv4"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = ["123.456.789.012", "2001:4860:4860::8888"], Hostname = "valid-123" }]),
        [
            "endpoints[0].addresses[0]: Invalid value: \"123.456.789.012\": must be a valid IPv4 address",
            "endpoints[0].addresses[1]: Invalid value: \"2001:4860:4860::8888\": must be a valid IPv4 address",
        ]),
        ["bad-ipv6"] = (Slice("IPv6", [Port("http")], [new Endpoint { Addresses = ["123.456.789.012", "2001:4860:4860:defg"], Hostname = "valid-123" }]),
        [
            "endpoints[0].addresses[0]: Invalid value: \"123.456.789.012\": must be a valid IPv6 address",
            "endpoints[0].addresses[1]: Invalid value: \"2001:4860:4860:defg\": must be a valid IPv6 address",
        ]),
        ["bad-fqdns"] = (Slice("FQDN", [Port("http")],
            [new Endpoint { Addresses = ["foo.*", "FOO.example.com", "underscores_are_bad.example.com", "*.example.com"], Hostname = "valid-123" }]),
        [
            $"endpoints[0].addresses[0]: Invalid value: \"foo.*\": {NameValidation.Dns1123SubdomainMessage}",
            $"endpoints[0].addresses[1]: Invalid value: \"FOO.example.com\": {NameValidation.Dns1123SubdomainMessage}",
            $"endpoints[0].addresses[2]: Invalid value: \"underscores_are_bad.example.com\": {NameValidation.Dns1123SubdomainMessage}",
            $"endpoints[0].addresses[3]: Invalid value: \"*.example.com\": {NameValidation.Dns1123SubdomainMessage}",
        ]),
        ["bad-app-protocol"] = (Slice("IPv4", [Port("http", appProtocol: "--")], [new Endpoint { Addresses = IPs(1), Hostname = "valid-123" }]),
            [$"ports[0].appProtocol: Invalid value: \"--\": {QualifiedNameRegexMessage}"]),
        ["invalid-hints"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), Hints = Hints("inv@lid") }]),
            [$"endpoints[0].hints.forZones[0].name: Invalid value: \"inv@lid\": {LabelValueRegexMessage}"]),
        ["overlapping-hints"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), Hints = Hints("zone-a", "zone-b", "zone-a") }]),
            ["endpoints[0].hints.forZones[2].name: Duplicate value: \"zone-a\""]),
        ["too-many-hints"] = (Slice("IPv4", [Port("http")],
            [new Endpoint { Addresses = IPs(1), Hints = Hints("zone-a", "zone-b", "zone-c", "zone-d", "zone-e", "zone-f", "zone-g", "zone-h", "zone-i") }]),
            ["endpoints[0].hints.forZones: Too many: 9: must have at most 8 items"]),
        ["empty-everything"] = (new EndpointSlice(), ["addressType: Required value"]),
        ["zone-key-topology"] = (Slice("IPv4", [Port("http")],
            [new Endpoint { Addresses = IPs(1), DeprecatedTopology = new() { ["topology.kubernetes.io/zone"] = "zone1" } }]),
            ["endpoints[0].deprecatedTopology[topology.kubernetes.io/zone]: Internal error: reserved key was not removed in conversion"]),
        // Beyond upstream's table: the FQDN rules past the subdomain syntax.
        ["fqdn-one-label-and-empty"] = (Slice("FQDN", [Port("http")], [new Endpoint { Addresses = ["localhost", ""] }]),
        [
            "endpoints[0].addresses[0]: Invalid value: \"localhost\": should be a domain with at least two segments separated by dots",
            "endpoints[0].addresses[1]: Required value",
        ]),
    };

    // TestValidateEndpointSliceCreate.
    private static readonly Dictionary<string, (EndpointSlice Slice, string[] Errors)> s_create = new()
    {
        ["good-slice"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), Hostname = "valid-123" }]), []),
        ["good-slice-node-name"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), Hostname = "valid-123", NodeName = "valid-node-name" }]), []),
        ["bad-node-name"] = (Slice("IPv4", [Port("http")], [new Endpoint { Addresses = IPs(1), Hostname = "valid-123", NodeName = "INvalid-node-name" }]),
            [$"endpoints[0].nodeName: Invalid value: \"INvalid-node-name\": {NameValidation.Dns1123SubdomainMessage}"]),
        ["deprecated-address-type"] = (Slice("IP", [Port("http")], [new Endpoint { Addresses = IPs(1) }]),
            ["addressType: Unsupported value: \"IP\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""]),
        ["bad-address-type"] = (Slice("other", [Port("http")], [new Endpoint { Addresses = IPs(1) }]),
            ["addressType: Unsupported value: \"other\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""]),
    };

    // TestValidateEndpointSliceUpdate.
    private static readonly Dictionary<string, (EndpointSlice Old, EndpointSlice New, string[] Errors)> s_update = new()
    {
        ["valid and identical slices"] = (Slice("IPv6", null, null), Slice("IPv6", null, null), []),
        ["invalid node name set"] = (
            Slice("IPv4", null, [new Endpoint { Addresses = ["10.1.2.3"] }]),
            Slice("IPv4", null, [new Endpoint { Addresses = ["10.1.2.3"], NodeName = "INVALID foo" }]),
            [$"endpoints[0].nodeName: Invalid value: \"INVALID foo\": {NameValidation.Dns1123SubdomainMessage}"]),
        ["deprecated address type"] = (Slice("IP", null, null), Slice("IP", null, null),
            ["addressType: Unsupported value: \"IP\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""]),
        ["valid and identical slices with different address types"] = (Slice("other", null, null), Slice("IPv4", null, null),
            ["addressType: Invalid value: \"IPv4\": field is immutable"]),
        ["invalid slices with valid address types"] = (Slice("IPv4", null, null), Slice("IPv4", [Port("", "invalid")], null),
            ["ports[0].protocol: Unsupported value: \"invalid\": supported values: \"SCTP\", \"TCP\", \"UDP\""]),
    };

    public static TheoryData<string> ValidCases => [.. s_valid.Keys];

    public static TheoryData<string> InvalidCases => [.. s_invalid.Keys];

    public static TheoryData<string> CreateCases => [.. s_create.Keys];

    public static TheoryData<string> UpdateCases => [.. s_update.Keys];

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void ValidateCreate_ValidSlice_HasNoErrors(string name) => Assert.Empty(EndpointSliceValidation.ValidateCreate(s_valid[name]));

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void ValidateCreate_InvalidSlice_ReportsUpstreamErrors(string name)
    {
        var (slice, expected) = s_invalid[name];
        Assert.Equal(expected, EndpointSliceValidation.ValidateCreate(slice).Select(Render));
    }

    [Theory]
    [MemberData(nameof(CreateCases))]
    public void ValidateCreate_UpstreamCreateTable(string name)
    {
        var (slice, expected) = s_create[name];
        Assert.Equal(expected, EndpointSliceValidation.ValidateCreate(slice).Select(Render));
    }

    [Theory]
    [MemberData(nameof(UpdateCases))]
    public void ValidateUpdate_UpstreamUpdateTable(string name)
    {
        var (old, updated, expected) = s_update[name];
        Assert.Equal(expected, EndpointSliceValidation.ValidateUpdate(updated, old).Select(Render));
    }

    private static EndpointSlice Slice(string addressType, List<EndpointSlicePort>? ports, List<Endpoint>? endpoints) => new()
    {
        Metadata = new ObjectMeta { Name = "hello", Namespace = "world" },
        AddressType = addressType,
        Ports = ports,
        Endpoints = endpoints,
    };

    private static EndpointSlicePort Port(string name, string protocol = "TCP", string? appProtocol = null) =>
        new() { Name = name, Protocol = protocol, AppProtocol = appProtocol };

    // generatePorts, generateEndpoints, generateIPAddresses and generateTopology.
    private static List<EndpointSlicePort> Ports(int n) => [.. Enumerable.Range(0, n).Select(i => Port(string.Create(CultureInfo.InvariantCulture, $"http-{i}")))];

    private static List<Endpoint> Endpoints(int n) => [.. Enumerable.Range(0, n).Select(i => new Endpoint { Addresses = [Ip(i)] })];

    private static List<string> IPs(int n) => [.. Enumerable.Range(0, n).Select(Ip)];

    private static string Ip(int i) => string.Create(CultureInfo.InvariantCulture, $"10.1.2.{i % 255}");

    private static Dictionary<string, string> Topology(int n) =>
        Enumerable.Range(0, n).ToDictionary(i => string.Create(CultureInfo.InvariantCulture, $"topology-{i}"), _ => "example");

    private static EndpointHints Hints(params string[] zones) => new() { ForZones = [.. zones.Select(z => new ForZone { Name = z })] };
}
