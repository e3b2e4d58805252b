using Berth.Api.Models;

namespace Berth.Api.Validation;

/// <summary>
/// The DNS parts of pod validation, ported from upstream v1.32 pkg/apis/core/validation/validation.go
/// (ValidatePodSpec's validateDNSPolicy, hostname and subdomain, validatePodDNSConfig, ValidateHostAliases) with
/// the same field paths and messages. The rest of ValidatePodSpec is not checked yet. Callers pass the pod after
/// v1 defaulting (dnsPolicy ClusterFirst when unset).
/// </summary>
public static class PodValidation
{
    // Limits of Linux libc name resolution (MaxDNSNameservers, MaxDNSSearchPaths, MaxDNSSearchListChars).
    public const int MaxDnsNameservers = 3;
    public const int MaxDnsSearchPaths = 32;
    public const int MaxDnsSearchListChars = 2048;

    // sets.List(validDNSPolicies): sorted.
    private static readonly string[] s_dnsPolicies = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];

    /// <summary>The DNS checks of ValidatePod for a pod's spec, under <paramref name="path"/> ("spec").</summary>
    public static List<FieldError> ValidateDns(PodSpec spec, string path = "spec")
    {
        var errors = new List<FieldError>();
        var policy = spec.DnsPolicy ?? "";
        if (policy.Length == 0)
        {
            errors.Add(FieldError.Required($"{path}.dnsPolicy"));
        }
        else if (!s_dnsPolicies.Contains(policy, StringComparer.Ordinal))
        {
            errors.Add(FieldError.NotSupported($"{path}.dnsPolicy", policy, s_dnsPolicies));
        }
        if (spec.Hostname is { Length: > 0 } hostname)
        {
            errors.AddRange(Dns1123Label(hostname, $"{path}.hostname"));
        }
        if (spec.Subdomain is { Length: > 0 } subdomain)
        {
            errors.AddRange(Dns1123Label(subdomain, $"{path}.subdomain"));
        }
        errors.AddRange(ValidateDnsConfig(spec.DnsConfig, policy, $"{path}.dnsConfig"));
        errors.AddRange(ValidateHostAliases(spec.HostAliases ?? [], $"{path}.hostAliases"));
        return errors;
    }

    /// <summary>validatePodDNSConfig.</summary>
    public static List<FieldError> ValidateDnsConfig(PodDNSConfig? config, string? dnsPolicy, string path)
    {
        var errors = new List<FieldError>();
        if (dnsPolicy == "None")
        {
            if (config is null)
            {
                return [FieldError.Required(path, "must provide `dnsConfig` when `dnsPolicy` is None")];
            }
            if (config.Nameservers is not { Count: > 0 })
            {
                return [FieldError.Required($"{path}.nameservers", "must provide at least one DNS nameserver when `dnsPolicy` is None")];
            }
        }
        if (config is null)
        {
            return errors;
        }
        var nameservers = config.Nameservers ?? [];
        if (nameservers.Count > MaxDnsNameservers)
        {
            errors.Add(FieldError.Invalid($"{path}.nameservers", GoValue.Strings(nameservers), $"must not have more than {MaxDnsNameservers} nameservers"));
        }
        for (var i = 0; i < nameservers.Count; i++)
        {
            errors.AddRange(NetValidation.IsValidIP($"{path}.nameservers[{i}]", nameservers[i]));
        }
        var searches = config.Searches ?? [];
        if (searches.Count > MaxDnsSearchPaths)
        {
            errors.Add(FieldError.Invalid($"{path}.searches", GoValue.Strings(searches), $"must not have more than {MaxDnsSearchPaths} search paths"));
        }
        // The spaces between the paths count.
        if (string.Join(' ', searches).Length > MaxDnsSearchListChars)
        {
            errors.Add(FieldError.Invalid($"{path}.searches", GoValue.Strings(searches),
                $"must not have more than {MaxDnsSearchListChars} characters (including spaces) in the search list"));
        }
        for (var i = 0; i < searches.Count; i++)
        {
            // A trailing dot is fine.
            var search = searches[i].EndsWith('.') ? searches[i][..^1] : searches[i];
            errors.AddRange(Dns1123Subdomain(search, $"{path}.searches[{i}]"));
        }
        var options = config.Options ?? [];
        for (var i = 0; i < options.Count; i++)
        {
            if (string.IsNullOrEmpty(options[i].Name))
            {
                errors.Add(FieldError.Required($"{path}.options[{i}]", "must not be empty"));
            }
        }
        return errors;
    }

    /// <summary>ValidateHostAliases.</summary>
    public static List<FieldError> ValidateHostAliases(IReadOnlyList<HostAlias> aliases, string path)
    {
        var errors = new List<FieldError>();
        for (var i = 0; i < aliases.Count; i++)
        {
            errors.AddRange(NetValidation.IsValidIP($"{path}[{i}].ip", aliases[i].Ip ?? ""));
            var hostnames = aliases[i].Hostnames ?? [];
            for (var j = 0; j < hostnames.Count; j++)
            {
                errors.AddRange(Dns1123Subdomain(hostnames[j], $"{path}[{i}].hostnames[{j}]"));
            }
        }
        return errors;
    }

    private static IEnumerable<FieldError> Dns1123Label(string value, string field) =>
        NameValidation.IsDns1123Label(value).Select(m => FieldError.Invalid(field, value, m));

    private static IEnumerable<FieldError> Dns1123Subdomain(string value, string field) =>
        NameValidation.IsDns1123Subdomain(value).Select(m => FieldError.Invalid(field, value, m));
}
