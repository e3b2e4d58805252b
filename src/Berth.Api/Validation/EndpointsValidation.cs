using Berth.Api.Models;

namespace Berth.Api.Validation;

/// <summary>
/// Endpoints validation ported from upstream v1.32 pkg/apis/core/validation/validation.go (ValidateEndpoints,
/// validateEndpointSubsets, validateEndpointAddress, validateEndpointPort), with the same field paths, messages and
/// error order. Metadata syntax is checked by the registry for every kind, and ValidateEndpointsUpdate adds only
/// metadata checks to ValidateEndpoints, so one function serves ValidateEndpointsCreate and ValidateEndpointsUpdate.
/// Callers pass the object as upstream's v1 defaulting would leave it (a port without a protocol is TCP by then).
/// One deviation: loopback addresses are accepted, because Berth's pod IPs are loopback (127.244.x.y).
/// </summary>
public static class EndpointsValidation
{
    // The detail ValidateNonSpecialIP gives a loopback address: the one special range Berth's endpoints live in.
    private const string LoopbackDetail = "may not be in the loopback range (127.0.0.0/8, ::1/128)";

    // Upstream lists supported values sorted.
    private static readonly string[] s_protocols = ["SCTP", "TCP", "UDP"];

    /// <summary>ValidateEndpoints without ValidateObjectMeta.</summary>
    public static List<FieldError> Validate(Endpoints endpoints)
    {
        var errors = new List<FieldError>();
        var subsets = endpoints.Subsets ?? [];
        for (var i = 0; i < subsets.Count; i++)
        {
            var path = $"subsets[{i}]";
            var addresses = subsets[i].Addresses ?? [];
            var notReadyAddresses = subsets[i].NotReadyAddresses ?? [];
            var ports = subsets[i].Ports ?? [];
            // Ports may be empty: a headless Service's endpoints need none.
            if (addresses.Count == 0 && notReadyAddresses.Count == 0)
            {
                errors.Add(FieldError.Required(path, "must specify `addresses` or `notReadyAddresses`"));
            }
            for (var j = 0; j < addresses.Count; j++)
            {
                ValidateAddress(addresses[j], $"{path}.addresses[{j}]", errors);
            }
            for (var j = 0; j < notReadyAddresses.Count; j++)
            {
                ValidateAddress(notReadyAddresses[j], $"{path}.notReadyAddresses[{j}]", errors);
            }
            for (var j = 0; j < ports.Count; j++)
            {
                ValidatePort(ports[j], ports.Count > 1, $"{path}.ports[{j}]", errors);
            }
        }
        return errors;
    }

    // ValidateNonSpecialIP as Berth applies it to endpoint addresses: unspecified, link-local and link-local
    // multicast addresses are refused with upstream's messages; loopback is not, since every pod IP in Berth is.
    private static List<FieldError> ValidateEndpointIP(string ip, string field) =>
        [.. NetValidation.ValidateNonSpecialIP(ip, field).Where(e => e.Detail != LoopbackDetail)];

    private static void ValidateAddress(EndpointAddress address, string path, List<FieldError> errors)
    {
        var ip = address.Ip ?? "";
        errors.AddRange(NetValidation.IsValidIP($"{path}.ip", ip));
        if (address.Hostname is { Length: > 0 } hostname)
        {
            errors.AddRange(NameValidation.IsDns1123Label(hostname).Select(m => FieldError.Invalid($"{path}.hostname", hostname, m)));
        }
        if (address.NodeName is { } nodeName)
        {
            // ValidateNodeName: node names are DNS subdomains.
            errors.AddRange(NameValidation.IsDns1123Subdomain(nodeName).Select(m => FieldError.Invalid($"{path}.nodeName", nodeName, m)));
        }
        // Upstream reports a malformed IP twice: once here, once above.
        errors.AddRange(ValidateEndpointIP(ip, $"{path}.ip"));
    }

    private static void ValidatePort(EndpointPort port, bool requireName, string path, List<FieldError> errors)
    {
        var name = port.Name ?? "";
        if (requireName && name.Length == 0)
        {
            errors.Add(FieldError.Required($"{path}.name"));
        }
        else if (name.Length != 0)
        {
            errors.AddRange(NameValidation.IsDns1123Label(name).Select(m => FieldError.Invalid($"{path}.name", name, m)));
        }

        var number = port.Port ?? 0;
        errors.AddRange(NetValidation.IsValidPortNum(number).Select(m => FieldError.Invalid($"{path}.port", number, m)));

        if (string.IsNullOrEmpty(port.Protocol))
        {
            errors.Add(FieldError.Required($"{path}.protocol"));
        }
        else if (!s_protocols.Contains(port.Protocol))
        {
            errors.Add(FieldError.NotSupported($"{path}.protocol", port.Protocol, s_protocols));
        }

        if (port.AppProtocol is { } appProtocol)
        {
            errors.AddRange(LabelValidation.IsQualifiedName(appProtocol).Select(m => FieldError.Invalid($"{path}.appProtocol", appProtocol, m)));
        }
    }
}
