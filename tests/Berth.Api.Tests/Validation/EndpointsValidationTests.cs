using Berth.Api.Models;
using Berth.Api.Validation;
using static Berth.Api.Tests.Validation.ServiceFixtures;

namespace Berth.Api.Tests.Validation;

/// <summary>
/// Upstream's TestValidateEndpointsCreate and TestValidateEndpointsUpdate (pkg/apis/core/validation/validation_test.go).
/// Upstream checks only the first error's type; these check every error's field path and message. Left out: the
/// metadata cases (missing or invalid name and namespace), which the registry checks for every kind. Changed:
/// "Address is loopback" is accepted, because Berth's pod IPs are loopback.
/// </summary>
public sealed class EndpointsValidationTests
{
    private const string QualifiedNameRegexMessage =
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

    private static readonly Dictionary<string, Endpoints> s_valid = new()
    {
        ["simple endpoint"] = Make(
            Subset([Address("10.10.1.1"), Address("10.10.2.2")], [Port("a", 8675, "TCP"), Port("b", 309, "TCP")]),
            Subset([Address("10.10.3.3")], [Port("a", 93, "TCP"), Port("b", 76, "TCP")])),
        ["empty subsets"] = Make(),
        ["no name required for singleton port"] = Make(Subset([Address("10.10.1.1")], [Port(null, 8675, "TCP")])),
        ["valid appProtocol"] = Make(Subset([Address("10.10.1.1")], [Port(null, 8675, "TCP", "HTTP")])),
        ["empty ports"] = Make(Subset([Address("10.10.3.3")], [])),
        // Upstream refuses these ("Address is loopback"); Berth's pod IPs are 127.244.x.y.
        ["Address is loopback"] = Make(Subset([Address("127.0.0.1")], [Port("p", 93, "TCP")])),
        ["Address is a Berth pod IP"] = Make(Subset([Address("127.244.0.5")], [Port("p", 93, "TCP")])),
        ["Address is IPv6 loopback"] = Make(Subset([Address("::1")], [Port("p", 93, "TCP")])),
        // Beyond upstream's table: the optional address fields and not-ready addresses, valid.
        ["hostname, nodeName and not-ready addresses"] = Make(new EndpointSubset
        {
            NotReadyAddresses = [new EndpointAddress { Ip = "10.1.2.3", Hostname = "pod-0", NodeName = "node-1.example" }],
        }),
    };

    private static readonly Dictionary<string, (Endpoints Endpoints, string[] Errors)> s_invalid = new()
    {
        ["empty addresses"] = (Make(Subset([], [Port("a", 93, "TCP")])),
            ["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"]),
        ["invalid IP"] = (Make(Subset([Address("[2001:0db8:85a3:0042:1000:8a2e:0370:7334]")], [Port("a", 93, "TCP")])),
        [
            "subsets[0].addresses[0].ip: Invalid value: \"[2001:0db8:85a3:0042:1000:8a2e:0370:7334]\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            "subsets[0].addresses[0].ip: Invalid value: \"[2001:0db8:85a3:0042:1000:8a2e:0370:7334]\": must be a valid IP address",
        ]),
        ["Multiple ports, one without name"] = (Make(Subset([Address("10.10.1.1")], [Port(null, 8675, "TCP"), Port("b", 309, "TCP")])),
            ["subsets[0].ports[0].name: Required value"]),
        ["Invalid port number"] = (Make(Subset([Address("10.10.1.1")], [Port("a", 66000, "TCP")])),
            ["subsets[0].ports[0].port: Invalid value: 66000: must be between 1 and 65535, inclusive"]),
        ["Invalid protocol"] = (Make(Subset([Address("10.10.1.1")], [Port("a", 93, "Protocol")])),
            ["subsets[0].ports[0].protocol: Unsupported value: \"Protocol\": supported values: \"SCTP\", \"TCP\", \"UDP\""]),
        ["Address missing IP"] = (Make(Subset([new EndpointAddress()], [Port("a", 93, "TCP")])),
        [
            "subsets[0].addresses[0].ip: Invalid value: \"\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            "subsets[0].addresses[0].ip: Invalid value: \"\": must be a valid IP address",
        ]),
        ["Port missing number"] = (Make(Subset([Address("10.10.1.1")], [Port("a", null, "TCP")])),
            ["subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"]),
        ["Port missing protocol"] = (Make(Subset([Address("10.10.1.1")], [Port("a", 93, null)])),
            ["subsets[0].ports[0].protocol: Required value"]),
        ["Address is link-local"] = (Make(Subset([Address("169.254.169.254")], [Port("p", 93, "TCP")])),
            ["subsets[0].addresses[0].ip: Invalid value: \"169.254.169.254\": may not be in the link-local range (169.254.0.0/16, fe80::/10)"]),
        ["Address is link-local multicast"] = (Make(Subset([Address("224.0.0.1")], [Port("p", 93, "TCP")])),
            ["subsets[0].addresses[0].ip: Invalid value: \"224.0.0.1\": may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"]),
        ["Invalid AppProtocol"] = (Make(Subset([Address("10.10.1.1")], [Port("p", 93, "TCP", "lots-of[invalid]-{chars}")])),
            [$"subsets[0].ports[0].appProtocol: Invalid value: \"lots-of[invalid]-{{chars}}\": {QualifiedNameRegexMessage}"]),
        // Beyond upstream's table: the other checks of validateEndpointAddress and validateEndpointPort.
        ["Address is unspecified"] = (Make(Subset([Address("0.0.0.0")], [])),
            ["subsets[0].addresses[0].ip: Invalid value: \"0.0.0.0\": may not be unspecified (0.0.0.0)"]),
        ["bad hostname, node name and port name on a not-ready address"] = (Make(new EndpointSubset
        {
            NotReadyAddresses = [new EndpointAddress { Ip = "10.1.2.3", Hostname = "Pod_0", NodeName = "Node 1" }],
            Ports = [Port("HTTP", 80, "TCP")],
        }),
        [
            $"subsets[0].notReadyAddresses[0].hostname: Invalid value: \"Pod_0\": {NameValidation.Dns1123LabelMessage}",
            $"subsets[0].notReadyAddresses[0].nodeName: Invalid value: \"Node 1\": {NameValidation.Dns1123SubdomainMessage}",
            $"subsets[0].ports[0].name: Invalid value: \"HTTP\": {NameValidation.Dns1123LabelMessage}",
        ]),
    };

    public static TheoryData<string> ValidCases => [.. s_valid.Keys];

    public static TheoryData<string> InvalidCases => [.. s_invalid.Keys];

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void Validate_ValidEndpoints_HasNoErrors(string name) => Assert.Empty(EndpointsValidation.Validate(s_valid[name]));

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Validate_InvalidEndpoints_ReportsUpstreamErrors(string name)
    {
        var (endpoints, expected) = s_invalid[name];
        Assert.Equal(expected, EndpointsValidation.Validate(endpoints).Select(Render));
    }

    // TestValidateEndpointsUpdate: an update is validated as the new object alone.
    [Theory]
    [InlineData("https", new string[0])]
    [InlineData("~https", new[] { "subsets[0].ports[0].appProtocol: Invalid value: \"~https\": " + QualifiedNameRegexMessage })]
    public void Validate_UpdateToAppProtocol_ValidatesTheNewObject(string appProtocol, string[] expected)
    {
        var updated = Make(Subset([Address("10.1.2.3")], [Port("a", 8675, "TCP", appProtocol)]));
        Assert.Equal(expected, EndpointsValidation.Validate(updated).Select(Render));
    }

    private static Endpoints Make(params EndpointSubset[] subsets) =>
        new() { Metadata = new ObjectMeta { Name = "mysvc", Namespace = "namespace" }, Subsets = [.. subsets] };

    private static EndpointSubset Subset(EndpointAddress[] addresses, EndpointPort[] ports) =>
        new() { Addresses = [.. addresses], Ports = [.. ports] };

    private static EndpointAddress Address(string ip) => new() { Ip = ip };

    private static EndpointPort Port(string? name, int? port, string? protocol, string? appProtocol = null) =>
        new() { Name = name, Port = port, Protocol = protocol, AppProtocol = appProtocol };
}
