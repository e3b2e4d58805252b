using Berth.Api.Models;
using static Berth.Api.Validation.ServiceValidation;

namespace Berth.Api.Validation;

/// <summary>
/// Defaults spec.ipFamilyPolicy and spec.ipFamilies for the cluster's configured families and refuses families
/// the cluster cannot serve: upstream v1.32 initIPFamilyFields (pkg/registry/core/service/storage/alloc.go), which
/// runs on create and update after clusterIP/clusterIPs were normalized and before any address is allocated.
/// </summary>
public static class ServiceIPFamilies
{
    /// <summary>
    /// Fills in the family fields of <paramref name="service"/> (in place) and returns the reasons it cannot be
    /// served; an empty list means it can. <paramref name="old"/> is the stored object on update, null on create.
    /// <paramref name="clusterFamilies"/> are the families the cluster has Service ranges for, primary first
    /// (["IPv4"] for a single-stack IPv4 cluster).
    /// </summary>
    public static List<FieldError> Apply(Service service, Service? old, IReadOnlyList<string> clusterFamilies)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentOutOfRangeException.ThrowIfZero(clusterFamilies.Count);
        var spec = service.Spec ??= new ServiceSpec();
        if (spec.Type == TypeExternalName)
        {
            return [];
        }

        // A PreferDualStack Service is not silently upgraded or downgraded when the cluster gains or loses a family;
        // only an explicit change of policy together with clusterIPs or ipFamilies does that.
        if (IsMatchingPreferDualStackClusterIPFields(service, old))
        {
            return [];
        }

        // No static default: on update the stored policy is kept, so a PUT that drops the secondary clusterIP
        // without naming a policy is judged against the policy it had.
        if (spec.IpFamilyPolicy is null)
        {
            if (old?.Spec?.IpFamilyPolicy is { } oldPolicy)
            {
                spec.IpFamilyPolicy = oldPolicy;
            }
            else if (spec.ClusterIP == ClusterIPNone && spec.Selector is not { Count: > 0 })
            {
                // Headless without a selector: the user manages endpoints, possibly of both families.
                spec.IpFamilyPolicy = RequireDualStack;
            }
            else
            {
                spec.IpFamilyPolicy = SingleStack;
            }
        }

        // Loose pre-validation so that nothing below has to consider malformed input.
        var invalid = ValidateClusterIPsRelatedFields(service);
        if (invalid.Count != 0)
        {
            return invalid;
        }

        var errors = new List<FieldError>();
        if (old is not null)
        {
            var oldSpec = SpecOf(old);
            if (spec.IpFamilyPolicy == SingleStack)
            {
                // Asking for SingleStack with unchanged fields is clear intent to drop the secondary; the primary is immutable.
                if (Same(oldSpec.ClusterIPs, spec.ClusterIPs) && spec.ClusterIPs is { Count: > 1 })
                {
                    spec.ClusterIPs = spec.ClusterIPs[..1];
                }
                if (Same(oldSpec.IpFamilies, spec.IpFamilies) && spec.IpFamilies is { Count: > 1 })
                {
                    spec.IpFamilies = spec.IpFamilies[..1];
                }
            }
            else
            {
                if (spec.ClusterIPs is { Count: > 0 } && spec.ClusterIPs.Count < (oldSpec.ClusterIPs?.Count ?? 0))
                {
                    errors.Add(PolicyError(spec, "must be 'SingleStack' to release the secondary cluster IP"));
                }
                if (spec.IpFamilies is { Count: > 0 } && spec.IpFamilies.Count < (oldSpec.IpFamilies?.Count ?? 0))
                {
                    errors.Add(PolicyError(spec, "must be 'SingleStack' to release the secondary IP family"));
                }
            }
        }

        if (spec.IpFamilyPolicy == SingleStack)
        {
            if (spec.ClusterIPs is { Count: 2 })
            {
                errors.Add(PolicyError(spec, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"));
            }
            if (spec.IpFamilies is { Count: 2 })
            {
                errors.Add(PolicyError(spec, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"));
            }
        }

        // Families follow the clusterIPs the user asked for; naming the unconfigured IP is the clearer error here.
        var clusterIPs = spec.ClusterIPs ?? [];
        for (var i = 0; i < clusterIPs.Count && clusterIPs[i] != ClusterIPNone; i++)
        {
            if (i < (spec.IpFamilies?.Count ?? 0))
            {
                continue;
            }
            var family = FamilyOf(clusterIPs[i]);
            if (!clusterFamilies.Contains(family))
            {
                errors.Add(FieldError.Invalid($"spec.clusterIPs[{i}]", GoValue.Strings(spec.ClusterIPs), $"{family} is not configured on this cluster"));
            }
            else
            {
                spec.IpFamilies = [.. spec.IpFamilies ?? [], family];
            }
        }

        if (errors.Count > 0)
        {
            return errors;
        }

        // Headless without a selector may name families the cluster has no range for: there is nothing to allocate.
        if (spec.ClusterIP == ClusterIPNone && spec.Selector is not { Count: > 0 })
        {
            if (spec.IpFamilies is not { Count: > 0 })
            {
                spec.IpFamilies = [clusterFamilies[0]];
            }
            if (spec.IpFamilies.Count < 2 && spec.IpFamilyPolicy != SingleStack)
            {
                spec.IpFamilies = [spec.IpFamilies[0], spec.IpFamilies[0] == IPv4 ? IPv6 : IPv4];
            }
            return [];
        }

        if (spec.IpFamilyPolicy == RequireDualStack && clusterFamilies.Count < 2)
        {
            errors.Add(PolicyError(spec, "this cluster is not configured for dual-stack services"));
        }
        var families = spec.IpFamilies ?? [];
        for (var i = 0; i < families.Count; i++)
        {
            if (!clusterFamilies.Contains(families[i]))
            {
                errors.Add(FieldError.Invalid($"spec.ipFamilies[{i}]", families[i], "not configured on this cluster"));
            }
        }
        if (errors.Count > 0)
        {
            return errors;
        }

        if (spec.IpFamilies is not { Count: > 0 })
        {
            spec.IpFamilies = [clusterFamilies[0]];
        }
        if (spec.IpFamilyPolicy != SingleStack && spec.IpFamilies.Count == 1 && clusterFamilies.Count == 2)
        {
            if (spec.IpFamilies[0] == IPv4)
            {
                spec.IpFamilies = [IPv4, IPv6];
            }
            else if (spec.IpFamilies[0] == IPv6)
            {
                spec.IpFamilies = [IPv6, IPv4];
            }
        }
        return [];
    }

    // isMatchingPreferDualStackClusterIPFields: an update of a PreferDualStack Service that leaves policy,
    // clusterIPs and ipFamilies as stored (old is a valid, defaulted object from the store).
    private static bool IsMatchingPreferDualStackClusterIPFields(Service service, Service? old)
    {
        if (old is null || service.Spec?.IpFamilyPolicy is not { } policy)
        {
            return false;
        }
        var (oldSpec, spec) = (SpecOf(old), service.Spec);
        return oldSpec.Type == spec.Type &&
            spec.Type is TypeClusterIP or TypeNodePort or TypeLoadBalancer &&
            policy == PreferDualStack &&
            (oldSpec.IpFamilyPolicy is null || oldSpec.IpFamilyPolicy == PreferDualStack) &&
            Same(oldSpec.ClusterIPs, spec.ClusterIPs) &&
            Same(oldSpec.IpFamilies, spec.IpFamilies);
    }

    private static FieldError PolicyError(ServiceSpec spec, string detail) =>
        FieldError.Invalid("spec.ipFamilyPolicy", GoValue.OptionalString(spec.IpFamilyPolicy), detail);

    private static bool Same(List<string>? a, List<string>? b) => (a ?? []).SequenceEqual(b ?? [], StringComparer.Ordinal);

    private static string FamilyOf(string ip) =>
        NetValidation.IsIPv4String(ip) ? IPv4 : NetValidation.IsIPv6String(ip) ? IPv6 : "unknown";
}
