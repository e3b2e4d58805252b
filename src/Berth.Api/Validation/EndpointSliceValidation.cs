using System.Globalization;
using Berth.Api.Models;

namespace Berth.Api.Validation;

/// <summary>
/// EndpointSlice validation ported from upstream v1.32 pkg/apis/discovery/validation/validation.go
/// (ValidateEndpointSlice, ValidateEndpointSliceCreate, ValidateEndpointSliceUpdate), with the same field paths,
/// messages and error order. Metadata syntax (the name is a DNS subdomain) is checked by the registry for every kind.
/// Callers pass the object as upstream's v1 defaulting would leave it (a port without a protocol is TCP by then).
/// In v1.32 slice addresses are only checked to be addresses of the slice's type: unlike Endpoints, loopback,
/// link-local and other special addresses are accepted (v1.33 started refusing them; Berth's loopback pod IPs
/// could not live with that).
/// </summary>
public static class EndpointSliceValidation
{
    public const string AddressTypeIPv4 = "IPv4";
    public const string AddressTypeIPv6 = "IPv6";
    public const string AddressTypeFqdn = "FQDN";

    private const int MaxTopologyLabels = 16;
    private const int MaxAddresses = 100;
    private const int MaxPorts = 20000;
    private const int MaxEndpoints = 1000;
    private const int MaxZoneHints = 8;

    // The v1beta1 topology key that conversion moves into endpoint.zone; v1 writes drop the whole map first.
    private const string TopologyZoneLabel = "topology.kubernetes.io/zone";

    // Upstream lists supported values sorted.
    private static readonly string[] s_addressTypes = [AddressTypeFqdn, AddressTypeIPv4, AddressTypeIPv6];
    private static readonly string[] s_protocols = ["SCTP", "TCP", "UDP"];

    /// <summary>ValidateEndpointSliceCreate, without ValidateObjectMeta.</summary>
    public static List<FieldError> ValidateCreate(EndpointSlice slice) => Validate(slice);

    /// <summary>ValidateEndpointSliceUpdate, without ValidateObjectMeta: the new slice as on create, and addressType may not change.</summary>
    public static List<FieldError> ValidateUpdate(EndpointSlice updated, EndpointSlice old)
    {
        var errors = Validate(updated);
        if ((updated.AddressType ?? "") != (old.AddressType ?? ""))
        {
            errors.Add(FieldError.Invalid("addressType", updated.AddressType ?? "", "field is immutable"));
        }
        return errors;
    }

    private static List<FieldError> Validate(EndpointSlice slice)
    {
        var errors = new List<FieldError>();
        var addressType = slice.AddressType ?? "";
        if (addressType.Length == 0)
        {
            errors.Add(FieldError.Required("addressType"));
        }
        else if (!s_addressTypes.Contains(addressType))
        {
            errors.Add(FieldError.NotSupported("addressType", addressType, s_addressTypes));
        }
        ValidateEndpoints(slice.Endpoints ?? [], addressType, errors);
        ValidatePorts(slice.Ports ?? [], errors);
        return errors;
    }

    private static void ValidateEndpoints(List<Endpoint> endpoints, string addressType, List<FieldError> errors)
    {
        if (endpoints.Count > MaxEndpoints)
        {
            errors.Add(TooMany("endpoints", endpoints.Count, MaxEndpoints));
            return;
        }
        for (var i = 0; i < endpoints.Count; i++)
        {
            var endpoint = endpoints[i];
            var path = $"endpoints[{i}]";
            var addressPath = $"{path}.addresses";
            var addresses = endpoint.Addresses ?? [];
            if (addresses.Count == 0)
            {
                errors.Add(FieldError.Required(addressPath, "must contain at least 1 address"));
            }
            else if (addresses.Count > MaxAddresses)
            {
                errors.Add(TooMany(addressPath, addresses.Count, MaxAddresses));
            }
            for (var j = 0; j < addresses.Count; j++)
            {
                ValidateAddress(addresses[j], addressType, $"{addressPath}[{j}]", errors);
            }

            if (endpoint.NodeName is { } nodeName)
            {
                // ValidateNodeName: node names are DNS subdomains.
                errors.AddRange(NameValidation.IsDns1123Subdomain(nodeName).Select(m => FieldError.Invalid($"{path}.nodeName", nodeName, m)));
            }

            var topologyPath = $"{path}.deprecatedTopology";
            var topology = endpoint.DeprecatedTopology ?? [];
            if (topology.Count > MaxTopologyLabels)
            {
                errors.Add(TooMany(topologyPath, topology.Count, MaxTopologyLabels));
            }
            // metav1validation.ValidateLabels; Go walks the map in random order, sorting keeps the errors stable.
            foreach (var (key, value) in topology.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                errors.AddRange(LabelValidation.IsQualifiedName(key).Select(m => FieldError.Invalid(topologyPath, key, m)));
                errors.AddRange(LabelValidation.IsValidLabelValue(value).Select(m => FieldError.Invalid(topologyPath, value, m)));
            }
            if (topology.ContainsKey(TopologyZoneLabel))
            {
                errors.Add(new FieldError("Internal error", $"{topologyPath}[{TopologyZoneLabel}]", "reserved key was not removed in conversion"));
            }

            if (endpoint.Hostname is { } hostname)
            {
                errors.AddRange(NameValidation.IsDns1123Label(hostname).Select(m => FieldError.Invalid($"{path}.hostname", hostname, m)));
            }

            if (endpoint.Hints is { } hints)
            {
                ValidateHints(hints, $"{path}.hints", errors);
            }
        }
    }

    // Addresses of an unknown type fall through unchecked (the type itself is reported).
    private static void ValidateAddress(string address, string addressType, string field, List<FieldError> errors)
    {
        switch (addressType)
        {
            case AddressTypeIPv4 when !NetValidation.IsIPv4String(address):
                errors.Add(FieldError.Invalid(field, address, "must be a valid IPv4 address"));
                break;
            case AddressTypeIPv6 when !NetValidation.IsIPv6String(address):
                errors.Add(FieldError.Invalid(field, address, "must be a valid IPv6 address"));
                break;
            case AddressTypeFqdn:
                errors.AddRange(IsFullyQualifiedDomainName(field, address));
                break;
        }
    }

    private static void ValidateHints(EndpointHints hints, string path, List<FieldError> errors)
    {
        var zonesPath = $"{path}.forZones";
        var zones = hints.ForZones ?? [];
        if (zones.Count > MaxZoneHints)
        {
            errors.Add(TooMany(zonesPath, zones.Count, MaxZoneHints));
            return;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < zones.Count; i++)
        {
            var name = zones[i].Name ?? "";
            var field = $"{zonesPath}[{i}].name";
            if (!names.Add(name))
            {
                errors.Add(FieldError.Duplicate(field, name));
            }
            errors.AddRange(LabelValidation.IsValidLabelValue(name).Select(m => FieldError.Invalid(field, name, m)));
        }
    }

    private static void ValidatePorts(List<EndpointSlicePort> ports, List<FieldError> errors)
    {
        if (ports.Count > MaxPorts)
        {
            errors.Add(TooMany("ports", ports.Count, MaxPorts));
            return;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ports.Count; i++)
        {
            var port = ports[i];
            var path = $"ports[{i}]";
            // v1 defaulting gives every port a name, "" when none was written.
            var name = port.Name ?? "";
            if (name.Length > 0)
            {
                errors.AddRange(NameValidation.IsDns1123Label(name).Select(m => FieldError.Invalid($"{path}.name", name, m)));
            }
            // Two unnamed ports clash too: consumers tell a slice's ports apart by name.
            if (!names.Add(name))
            {
                errors.Add(FieldError.Duplicate($"{path}.name", name));
            }

            if (port.Protocol is null)
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

    // validation.IsFullyQualifiedDomainName: a DNS subdomain of at least two labels, an optional trailing dot; the
    // first problem found is the only one reported.
    private static List<FieldError> IsFullyQualifiedDomainName(string field, string name)
    {
        if (name.Length == 0)
        {
            return [FieldError.Required(field)];
        }
        if (name.EndsWith('.'))
        {
            name = name[..^1];
        }
        if (NameValidation.IsDns1123Subdomain(name) is { Count: > 0 } subdomainErrors)
        {
            return [FieldError.Invalid(field, name, string.Join(",", subdomainErrors))];
        }
        var labels = name.Split('.');
        if (labels.Length < 2)
        {
            return [FieldError.Invalid(field, name, "should be a domain with at least two segments separated by dots")];
        }
        foreach (var label in labels)
        {
            if (NameValidation.IsDns1123Label(label) is { Count: > 0 } labelErrors)
            {
                return [FieldError.Invalid(field, label, string.Join(",", labelErrors))];
            }
        }
        return [];
    }

    // field.TooMany: the actual count is the bad value.
    private static FieldError TooMany(string field, int actual, int max) =>
        new("Too many", field, $"must have at most {max} items", actual.ToString(CultureInfo.InvariantCulture));
}
