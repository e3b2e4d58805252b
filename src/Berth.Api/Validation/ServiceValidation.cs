using Berth.Api.Models;
using Berth.Api.Services;

namespace Berth.Api.Validation;

/// <summary>
/// Service validation ported from upstream v1.32 pkg/apis/core/validation/validation.go (ValidateService,
/// ValidateServiceUpdate, ValidateServiceStatusUpdate and their helpers), with the same field paths, messages and
/// error order. Metadata syntax (name, namespace, labels, annotations) is checked by the registry for every kind;
/// only the Service-specific metadata rules are here.
/// Like upstream, clusterIP and clusterIPs are validated as the client left them after the registry has put them
/// in step (NormalizeClusterIPs), and after ipFamilies/ipFamilyPolicy were defaulted (<see cref="ServiceIPFamilies"/>).
/// The cluster's feature gates are the v1.32 defaults: LoadBalancerIPMode on, AllowServiceLBStatusOnNonLB off.
/// </summary>
public static class ServiceValidation
{
    internal const string TypeClusterIP = ServiceRules.TypeClusterIP;
    internal const string TypeNodePort = ServiceRules.TypeNodePort;
    internal const string TypeLoadBalancer = ServiceRules.TypeLoadBalancer;
    internal const string TypeExternalName = ServiceRules.TypeExternalName;
    internal const string ClusterIPNone = ServiceRules.ClusterIPNone;
    internal const string IPv4 = "IPv4";
    internal const string IPv6 = "IPv6";
    internal const string SingleStack = "SingleStack";
    internal const string PreferDualStack = "PreferDualStack";
    internal const string RequireDualStack = "RequireDualStack";
    internal const string LoadBalancerSourceRangesAnnotation = "service.beta.kubernetes.io/load-balancer-source-ranges";

    // core.MaxClientIPServiceAffinitySeconds
    private const int MaxClientIPServiceAffinitySeconds = 86400;

    // Upstream lists supported values with sets.List, i.e. sorted.
    private static readonly string[] s_sessionAffinities = ["ClientIP", "None"];
    private static readonly string[] s_types = [TypeClusterIP, TypeExternalName, TypeLoadBalancer, TypeNodePort];
    private static readonly string[] s_trafficPolicies = ["Cluster", "Local"];
    private static readonly string[] s_ipFamilies = [IPv4, IPv6];
    private static readonly string[] s_ipFamilyPolicies = [PreferDualStack, RequireDualStack, SingleStack];
    private static readonly string[] s_protocols = ["SCTP", "TCP", "UDP"];
    private static readonly string[] s_trafficDistributions = ["PreferClose"];
    private static readonly string[] s_ipModes = ["Proxy", "VIP"];

    /// <summary>ValidateServiceCreate (= ValidateService without the metadata syntax checks).</summary>
    public static List<FieldError> ValidateCreate(Service service) => Validate(service);

    /// <summary>
    /// ValidateServiceUpdate: clusterIPs and ipFamilies may gain or lose a secondary entry but never change the
    /// primary (changes to, from or between ExternalName services are exempt), loadBalancerClass is fixed while the
    /// Service stays a LoadBalancer, then the new object is validated as on create.
    /// </summary>
    public static List<FieldError> ValidateUpdate(Service updated, Service old)
    {
        var errors = ValidateUpgradeDowngradeClusterIPs(old, updated);
        errors.AddRange(ValidateUpgradeDowngradeIPFamilies(old, updated));
        errors.AddRange(ValidateLoadBalancerClass(old, updated));
        errors.AddRange(ValidateExternalTrafficFieldsUpdate(old, updated));
        errors.AddRange(Validate(updated));
        return errors;
    }

    /// <summary>ValidateServiceStatusUpdate: only status.loadBalancer is checked; upstream does not validate status.conditions for Services.</summary>
    public static List<FieldError> ValidateStatusUpdate(Service updated, Service old) =>
        ValidateLoadBalancerStatus(updated.Status?.LoadBalancer?.Ingress, SpecOf(updated));

    /// <summary>
    /// ValidateServiceClusterIPsRelatedFields: clusterIP/clusterIPs agreement, well-formed IPs (at most one per
    /// family), known ipFamilies and ipFamilyPolicy, and IPs matching their families. Also run before IP families
    /// are defaulted, so the defaulting never sees malformed input.
    /// </summary>
    public static List<FieldError> ValidateClusterIPsRelatedFields(Service service)
    {
        var spec = SpecOf(service);
        var errors = new List<FieldError>();
        if (spec.Type == TypeExternalName)
        {
            // Checked in Validate: all of these must be unset.
            return errors;
        }
        const string clusterIPsField = "spec.clusterIPs";
        var clusterIPs = spec.ClusterIPs ?? [];
        var families = spec.IpFamilies ?? [];

        if (!string.IsNullOrEmpty(spec.ClusterIP))
        {
            if (clusterIPs.Count == 0)
            {
                errors.Add(FieldError.Required(clusterIPsField));
            }
            else if (clusterIPs[0] != spec.ClusterIP)
            {
                errors.Add(FieldError.Invalid(clusterIPsField, GoValue.Strings(spec.ClusterIPs), "first value must match `clusterIP`"));
            }
        }
        else if (clusterIPs.Count != 0)
        {
            errors.Add(FieldError.Invalid(clusterIPsField, GoValue.Strings(spec.ClusterIPs), "must be empty when `clusterIP` is not specified"));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < families.Count; i++)
        {
            if (!s_ipFamilies.Contains(families[i]))
            {
                errors.Add(FieldError.NotSupported($"spec.ipFamilies[{i}]", families[i], s_ipFamilies));
            }
            // Also what makes a two-entry list dual-stack, in either order.
            if (!seen.Add(families[i]))
            {
                errors.Add(FieldError.Duplicate($"spec.ipFamilies[{i}]", families[i]));
            }
        }

        if (spec.IpFamilyPolicy is { } policy && !s_ipFamilyPolicies.Contains(policy))
        {
            errors.Add(FieldError.NotSupported("spec.ipFamilyPolicy", policy, s_ipFamilyPolicies));
        }

        var hasInvalidIPs = false;
        for (var i = 0; i < clusterIPs.Count; i++)
        {
            if (i == 0 && clusterIPs[i] == ClusterIPNone)
            {
                if (clusterIPs.Count > 1)
                {
                    hasInvalidIPs = true;
                    errors.Add(FieldError.Invalid(clusterIPsField, GoValue.Strings(spec.ClusterIPs), "'None' must be the first and only value"));
                }
                continue;
            }
            var ipErrors = NetValidation.IsValidIP($"{clusterIPsField}[{i}]", clusterIPs[i]);
            hasInvalidIPs |= ipErrors.Count != 0;
            errors.AddRange(ipErrors);
        }

        if (clusterIPs.Count > 2)
        {
            errors.Add(FieldError.Invalid(clusterIPsField, GoValue.Strings(spec.ClusterIPs), "may only hold up to 2 values"));
        }

        // Further checks on bad IPs would only repeat the problem with less useful messages.
        if (hasInvalidIPs)
        {
            return errors;
        }

        if (clusterIPs.Count > 1 && !(clusterIPs.Any(NetValidation.IsIPv4String) && clusterIPs.Any(NetValidation.IsIPv6String)))
        {
            errors.Add(FieldError.Invalid(clusterIPsField, GoValue.Strings(spec.ClusterIPs), "may specify no more than one IP for each IP family"));
        }

        if (!IsHeadless(spec) && clusterIPs.Count > 0 && families.Count > 0)
        {
            for (var i = 0; i < clusterIPs.Count && i < families.Count; i++)
            {
                var isIPv6 = NetValidation.IsIPv6String(clusterIPs[i]);
                if (families[i] == IPv4 && isIPv6)
                {
                    errors.Add(FieldError.Invalid($"{clusterIPsField}[{i}]", clusterIPs[i], $"expected an IPv4 value as indicated by `ipFamilies[{i}]`"));
                }
                if (families[i] == IPv6 && !isIPv6)
                {
                    errors.Add(FieldError.Invalid($"{clusterIPsField}[{i}]", clusterIPs[i], $"expected an IPv6 value as indicated by `ipFamilies[{i}]`"));
                }
            }
        }
        return errors;
    }

    /// <summary>validateServiceExternalTrafficPolicy: externalTrafficPolicy and healthCheckNodePort against the type.</summary>
    public static List<FieldError> ValidateExternalTrafficPolicy(Service service)
    {
        var spec = SpecOf(service);
        var errors = new List<FieldError>();
        var policy = spec.ExternalTrafficPolicy ?? "";
        if (!ServiceRules.ExternallyAccessible(spec))
        {
            if (policy.Length != 0)
            {
                errors.Add(FieldError.Invalid("spec.externalTrafficPolicy", policy, "may only be set for externally-accessible services"));
            }
        }
        else if (policy.Length == 0)
        {
            errors.Add(FieldError.Required("spec.externalTrafficPolicy"));
        }
        else if (!s_trafficPolicies.Contains(policy))
        {
            errors.Add(FieldError.NotSupported("spec.externalTrafficPolicy", policy, s_trafficPolicies));
        }

        var healthCheckNodePort = spec.HealthCheckNodePort ?? 0;
        if (!ServiceRules.NeedsHealthCheck(spec))
        {
            if (healthCheckNodePort != 0)
            {
                errors.Add(FieldError.Invalid("spec.healthCheckNodePort", healthCheckNodePort,
                    "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
            }
        }
        else if (healthCheckNodePort == 0)
        {
            errors.Add(FieldError.Required("spec.healthCheckNodePort"));
        }
        else
        {
            foreach (var message in NetValidation.IsValidPortNum(healthCheckNodePort))
            {
                errors.Add(FieldError.Invalid("spec.healthCheckNodePort", healthCheckNodePort, message));
            }
        }
        return errors;
    }

    // ValidateService, minus ValidateObjectMeta.
    private static List<FieldError> Validate(Service service)
    {
        var spec = SpecOf(service);
        var annotations = service.Metadata?.Annotations;
        var errors = new List<FieldError>();

        if (annotations is not null &&
            annotations.TryGetValue(ServiceRules.TopologyModeAnnotation, out var topologyMode) &&
            annotations.TryGetValue(ServiceRules.DeprecatedTopologyAwareHintsAnnotation, out var topologyHints) &&
            topologyMode != topologyHints)
        {
            errors.Add(FieldError.Invalid($"metadata.annotations[{ServiceRules.TopologyModeAnnotation}]", topologyMode,
                $"must match annotations[{ServiceRules.DeprecatedTopologyAwareHintsAnnotation}] when both are specified"));
        }

        var ports = spec.Ports ?? [];
        var headless = IsHeadless(spec);
        if (ports.Count == 0 && !headless && spec.Type != TypeExternalName)
        {
            errors.Add(FieldError.Required("spec.ports"));
        }

        switch (spec.Type)
        {
            case TypeLoadBalancer when headless:
                errors.Add(FieldError.Invalid("spec.clusterIPs[0]", spec.ClusterIPs![0], "may not be set to 'None' for LoadBalancer services"));
                break;
            case TypeNodePort when headless:
                errors.Add(FieldError.Invalid("spec.clusterIPs[0]", spec.ClusterIPs![0], "may not be set to 'None' for NodePort services"));
                break;
            case TypeExternalName:
                if (spec.ClusterIPs is { Count: > 0 })
                {
                    errors.Add(FieldError.Forbidden("spec.clusterIPs", "may not be set for ExternalName services"));
                }
                if (spec.IpFamilies is { Count: > 0 })
                {
                    errors.Add(FieldError.Forbidden("spec.ipFamilies", "may not be set for ExternalName services"));
                }
                if (spec.IpFamilyPolicy is not null)
                {
                    errors.Add(FieldError.Forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
                }
                // A CNAME may end in a dot to mark it fully qualified.
                var cname = (spec.ExternalName ?? "").EndsWith('.') ? spec.ExternalName![..^1] : spec.ExternalName ?? "";
                if (cname.Length > 0)
                {
                    errors.AddRange(NameValidation.IsDns1123Subdomain(cname).Select(m => FieldError.Invalid("spec.externalName", cname, m)));
                }
                else
                {
                    errors.Add(FieldError.Required("spec.externalName"));
                }
                break;
        }

        var portNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ports.Count; i++)
        {
            errors.AddRange(ValidateServicePort(ports[i], ports.Count > 1, portNames, $"spec.ports[{i}]"));
        }

        if (spec.Selector is not null)
        {
            foreach (var (key, value) in spec.Selector)
            {
                errors.AddRange(LabelValidation.IsQualifiedName(key).Select(m => FieldError.Invalid("spec.selector", key, m)));
                errors.AddRange(LabelValidation.IsValidLabelValue(value).Select(m => FieldError.Invalid("spec.selector", value, m)));
            }
        }

        var affinity = spec.SessionAffinity ?? "";
        if (affinity.Length == 0)
        {
            errors.Add(FieldError.Required("spec.sessionAffinity"));
        }
        else if (!s_sessionAffinities.Contains(affinity))
        {
            errors.Add(FieldError.NotSupported("spec.sessionAffinity", affinity, s_sessionAffinities));
        }
        if (affinity == "ClientIP")
        {
            errors.AddRange(ValidateClientIPAffinityConfig(spec.SessionAffinityConfig));
        }
        else if (affinity == "None" && spec.SessionAffinityConfig is not null)
        {
            errors.Add(FieldError.Forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"));
        }

        errors.AddRange(ValidateClusterIPsRelatedFields(service));

        var externalIPs = spec.ExternalIPs ?? [];
        for (var i = 0; i < externalIPs.Count; i++)
        {
            var field = $"spec.externalIPs[{i}]";
            var ipErrors = NetValidation.IsValidIP(field, externalIPs[i]);
            errors.AddRange(ipErrors.Count != 0 ? ipErrors : NetValidation.ValidateNonSpecialIP(externalIPs[i], field));
        }

        if (string.IsNullOrEmpty(spec.Type))
        {
            errors.Add(FieldError.Required("spec.type"));
        }
        else if (!s_types.Contains(spec.Type))
        {
            errors.Add(FieldError.NotSupported("spec.type", spec.Type, s_types));
        }

        if (spec.Type == TypeClusterIP)
        {
            for (var i = 0; i < ports.Count; i++)
            {
                if ((ports[i].NodePort ?? 0) != 0)
                {
                    errors.Add(FieldError.Forbidden($"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"));
                }
            }
        }

        // The same number may serve different protocols, on nodePorts as on ports.
        var nodePorts = new HashSet<(string, int)>();
        for (var i = 0; i < ports.Count; i++)
        {
            var nodePort = ports[i].NodePort ?? 0;
            if (nodePort != 0 && !nodePorts.Add((ports[i].Protocol ?? "", nodePort)))
            {
                errors.Add(FieldError.Duplicate($"spec.ports[{i}].nodePort", nodePort));
            }
        }
        var servicePorts = new HashSet<(string, int)>();
        for (var i = 0; i < ports.Count; i++)
        {
            var key = (Protocol: ports[i].Protocol ?? "", Port: ports[i].Port ?? 0);
            if (!servicePorts.Add(key))
            {
                errors.Add(FieldError.Duplicate($"spec.ports[{i}]", ServicePortKey(key.Protocol, key.Port)));
            }
        }

        errors.AddRange(ValidateLoadBalancerSourceRanges(spec, annotations));

        if (spec.AllocateLoadBalancerNodePorts is not null && spec.Type != TypeLoadBalancer)
        {
            errors.Add(FieldError.Forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"));
        }
        if (spec.Type == TypeLoadBalancer && spec.AllocateLoadBalancerNodePorts is null)
        {
            // Upstream reports this one without the "spec." prefix.
            errors.Add(FieldError.Required("allocateLoadBalancerNodePorts"));
        }

        errors.AddRange(ValidateLoadBalancerClass(null, service));
        errors.AddRange(ValidateExternalTrafficPolicy(service));

        if (spec.InternalTrafficPolicy is null)
        {
            // Not required for ExternalName: stored objects from before the field existed would become invalid.
            if (spec.Type is TypeNodePort or TypeLoadBalancer or TypeClusterIP)
            {
                errors.Add(FieldError.Required("spec.internalTrafficPolicy"));
            }
        }
        else if (!s_trafficPolicies.Contains(spec.InternalTrafficPolicy))
        {
            errors.Add(FieldError.NotSupported("spec.internalTrafficPolicy", spec.InternalTrafficPolicy, s_trafficPolicies));
        }

        if (spec.TrafficDistribution is { } distribution && !s_trafficDistributions.Contains(distribution))
        {
            errors.Add(FieldError.NotSupported("spec.trafficDistribution", distribution, s_trafficDistributions));
        }
        return errors;
    }

    private static List<FieldError> ValidateServicePort(ServicePort port, bool requireName, HashSet<string> names, string path)
    {
        var errors = new List<FieldError>();
        var name = port.Name ?? "";
        if (requireName && name.Length == 0)
        {
            errors.Add(FieldError.Required($"{path}.name"));
        }
        else if (name.Length != 0)
        {
            errors.AddRange(NameValidation.IsDns1123Label(name).Select(m => FieldError.Invalid($"{path}.name", name, m)));
            if (!names.Add(name))
            {
                errors.Add(FieldError.Duplicate($"{path}.name", name));
            }
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

        // ValidatePortNumOrName; an absent targetPort is Go's zero IntOrString, the integer 0.
        var target = port.TargetPort ?? default;
        if (target.StringValue is { } targetName)
        {
            errors.AddRange(NetValidation.IsValidPortName(targetName).Select(m => FieldError.Invalid($"{path}.targetPort", targetName, m)));
        }
        else
        {
            errors.AddRange(NetValidation.IsValidPortNum(target.IntValue).Select(m => FieldError.Invalid($"{path}.targetPort", target.IntValue, m)));
        }

        if (port.AppProtocol is { } appProtocol)
        {
            errors.AddRange(LabelValidation.IsQualifiedName(appProtocol).Select(m => FieldError.Invalid($"{path}.appProtocol", appProtocol, m)));
        }
        // v1 tolerated any targetPort on headless Services, so upstream cannot start rejecting it.
        return errors;
    }

    private static List<FieldError> ValidateClientIPAffinityConfig(SessionAffinityConfig? config)
    {
        const string path = "spec.sessionAffinityConfig";
        const string detail = "when session affinity type is ClientIP";
        if (config is null)
        {
            return [FieldError.Required(path, detail)];
        }
        if (config.ClientIP is null)
        {
            return [FieldError.Required($"{path}.clientIP", detail)];
        }
        if (config.ClientIP.TimeoutSeconds is not { } timeout)
        {
            return [FieldError.Required($"{path}.clientIP.timeoutSeconds", detail)];
        }
        return timeout is <= 0 or > MaxClientIPServiceAffinitySeconds
            ? [FieldError.Invalid($"{path}.clientIP.timeoutSeconds", timeout, $"must be greater than 0 and less than {MaxClientIPServiceAffinitySeconds}")]
            : [];
    }

    private static List<FieldError> ValidateLoadBalancerSourceRanges(ServiceSpec spec, Dictionary<string, string>? annotations)
    {
        var errors = new List<FieldError>();
        if (spec.LoadBalancerSourceRanges is { Count: > 0 } ranges)
        {
            // Upstream's path really is spelled with a capital L.
            const string path = "spec.LoadBalancerSourceRanges";
            if (spec.Type != TypeLoadBalancer)
            {
                errors.Add(FieldError.Forbidden(path, "may only be used when `type` is 'LoadBalancer'"));
            }
            for (var i = 0; i < ranges.Count; i++)
            {
                // Space padding is tolerated: a leftover from when the values came from the annotation.
                errors.AddRange(NetValidation.IsValidCidr($"{path}[{i}]", ranges[i].Trim()));
            }
        }
        else if (annotations is not null && annotations.TryGetValue(LoadBalancerSourceRangesAnnotation, out var value))
        {
            var path = $"metadata.annotations[{LoadBalancerSourceRangesAnnotation}]";
            if (spec.Type != TypeLoadBalancer)
            {
                errors.Add(FieldError.Forbidden(path, "may only be used when `type` is 'LoadBalancer'"));
            }
            value = value.Trim();
            if (value.Length != 0)
            {
                foreach (var cidr in value.Split(','))
                {
                    errors.AddRange(NetValidation.IsValidCidr(path, cidr.Trim()));
                }
            }
        }
        return errors;
    }

    // validateLoadBalancerClassField; old is null on create.
    private static List<FieldError> ValidateLoadBalancerClass(Service? old, Service service)
    {
        var spec = SpecOf(service);
        var errors = new List<FieldError>();
        if (old is not null && SpecOf(old).Type == TypeLoadBalancer && spec.Type == TypeLoadBalancer &&
            SpecOf(old).LoadBalancerClass != spec.LoadBalancerClass)
        {
            errors.Add(FieldError.Invalid("spec.loadBalancerClass", GoValue.OptionalString(spec.LoadBalancerClass), "may not change once set"));
        }
        if (spec.LoadBalancerClass is { } loadBalancerClass)
        {
            if (spec.Type == TypeLoadBalancer)
            {
                errors.AddRange(LabelValidation.IsQualifiedName(loadBalancerClass).Select(m => FieldError.Invalid("spec.loadBalancerClass", loadBalancerClass, m)));
            }
            else
            {
                errors.Add(FieldError.Forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"));
            }
        }
        return errors;
    }

    private static List<FieldError> ValidateExternalTrafficFieldsUpdate(Service old, Service service) =>
        ServiceRules.NeedsHealthCheck(SpecOf(old)) && ServiceRules.NeedsHealthCheck(SpecOf(service)) &&
        (SpecOf(old).HealthCheckNodePort ?? 0) != (SpecOf(service).HealthCheckNodePort ?? 0)
            ? [FieldError.Forbidden("spec.healthCheckNodePort", "field is immutable")]
            : [];

    // validateUpgradeDowngradeClusterIPs, field paths and values exactly as upstream reports them.
    private static List<FieldError> ValidateUpgradeDowngradeClusterIPs(Service oldService, Service service)
    {
        var errors = new List<FieldError>();
        var (oldSpec, spec) = (SpecOf(oldService), SpecOf(service));
        if (spec.Type == TypeExternalName || oldSpec.Type == TypeExternalName || (IsHeadless(oldSpec) && IsHeadless(spec)))
        {
            return errors;
        }
        var oldIPs = oldSpec.ClusterIPs ?? [];
        var ips = spec.ClusterIPs ?? [];
        var value = GoValue.Strings(spec.ClusterIPs);
        if (oldIPs.Count == ips.Count)
        {
            for (var i = 0; i < oldIPs.Count; i++)
            {
                if (oldIPs[i] != ips[i])
                {
                    errors.Add(FieldError.Invalid($"spec.clusterIPs[{i}]", value, "may not change once set"));
                }
            }
        }
        else if (oldIPs.Count > ips.Count)
        {
            if (ips.Count == 0)
            {
                errors.Add(FieldError.Invalid("spec.clusterIPs[0]", value, "primary clusterIP can not be unset"));
            }
            if (oldIPs.Count > 0 && ips.Count > 0 && ips[0] != oldIPs[0])
            {
                errors.Add(FieldError.Invalid("spec.clusterIPs[0]", value, "may not change once set"));
            }
            if (ips.Count == 1 && spec.IpFamilyPolicy != SingleStack)
            {
                errors.Add(FieldError.Invalid("spec.ipFamilyPolicy", GoValue.OptionalString(spec.IpFamilyPolicy),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP"));
            }
        }
        else if (oldIPs.Count > 0 && ips[0] != oldIPs[0])
        {
            errors.Add(FieldError.Invalid("spec.clusterIPs[0]", value, "may not change once set"));
        }
        return errors;
    }

    // validateUpgradeDowngradeIPFamilies, field paths and values exactly as upstream reports them.
    private static List<FieldError> ValidateUpgradeDowngradeIPFamilies(Service oldService, Service service)
    {
        var errors = new List<FieldError>();
        var (oldSpec, spec) = (SpecOf(oldService), SpecOf(service));
        // Headless Services may change families, and so may a Service turning headless or back.
        if (spec.Type == TypeExternalName || oldSpec.Type == TypeExternalName || IsHeadless(oldSpec) || IsHeadless(spec))
        {
            return errors;
        }
        var oldFamilies = oldSpec.IpFamilies ?? [];
        var families = spec.IpFamilies ?? [];
        if (oldFamilies.Count == families.Count)
        {
            for (var i = 0; i < oldFamilies.Count; i++)
            {
                if (oldFamilies[i] != families[i])
                {
                    errors.Add(FieldError.Invalid("spec.ipFamilies[0]", GoValue.IPFamilies(spec.IpFamilies), "may not change once set"));
                }
            }
        }
        else if (oldFamilies.Count > families.Count)
        {
            // Upstream tests clusterIPs here, not ipFamilies.
            if (spec.ClusterIPs is not { Count: > 0 })
            {
                errors.Add(FieldError.Invalid("spec.ipFamilies[0]", GoValue.IPFamilies(spec.IpFamilies), "primary ipFamily can not be unset"));
            }
            if (families.Count > 0 && families[0] != oldFamilies[0])
            {
                errors.Add(FieldError.Invalid("spec.ipFamilies[0]", GoValue.Strings(spec.ClusterIPs), "may not change once set"));
            }
            if (families.Count == 1 && spec.IpFamilyPolicy != SingleStack)
            {
                errors.Add(FieldError.Invalid("spec.ipFamilyPolicy", GoValue.OptionalString(spec.IpFamilyPolicy),
                    "must be set to 'SingleStack' when releasing the secondary ipFamily"));
            }
        }
        else if (oldFamilies.Count > 0 && families[0] != oldFamilies[0])
        {
            errors.Add(FieldError.Invalid("spec.ipFamilies[0]", GoValue.Strings(spec.ClusterIPs), "may not change once set"));
        }
        return errors;
    }

    // ValidateLoadBalancerStatus with LoadBalancerIPMode on (GA in v1.32) and AllowServiceLBStatusOnNonLB off.
    private static List<FieldError> ValidateLoadBalancerStatus(List<LoadBalancerIngress>? ingresses, ServiceSpec spec)
    {
        const string path = "status.loadBalancer.ingress";
        var errors = new List<FieldError>();
        if (spec.Type != TypeLoadBalancer && ingresses is { Count: > 0 })
        {
            errors.Add(FieldError.Forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'"));
            return errors;
        }
        for (var i = 0; i < (ingresses?.Count ?? 0); i++)
        {
            var ingress = ingresses![i];
            var ip = ingress.Ip ?? "";
            if (ip.Length > 0)
            {
                errors.AddRange(NetValidation.IsValidIP($"{path}[{i}].ip", ip));
            }
            if (ingress.IpMode is not { } ipMode)
            {
                if (ip.Length > 0)
                {
                    errors.Add(FieldError.Required($"{path}[{i}].ipMode", "must be specified when `ip` is set"));
                }
            }
            else if (ip.Length == 0)
            {
                errors.Add(FieldError.Forbidden($"{path}[{i}].ipMode", "may not be specified when `ip` is not set"));
            }
            else if (!s_ipModes.Contains(ipMode))
            {
                errors.Add(FieldError.NotSupported($"{path}[{i}].ipMode", ipMode, s_ipModes));
            }

            if (ingress.Hostname is { Length: > 0 } hostname)
            {
                errors.AddRange(NameValidation.IsDns1123Subdomain(hostname).Select(m => FieldError.Invalid($"{path}[{i}].hostname", hostname, m)));
                if (NetValidation.ParseIPSloppy(hostname) is not null)
                {
                    errors.Add(FieldError.Invalid($"{path}[{i}].hostname", hostname, "must be a DNS name, not an IP address"));
                }
            }
        }
        return errors;
    }

    // %#v of the internal core.ServicePort upstream uses as the duplicate key.
    private static GoValue ServicePortKey(string protocol, int port) => new(
        $"core.ServicePort{{Name:\"\", Protocol:{FieldError.Quote(protocol)}, AppProtocol:(*string)(nil), Port:{port}, " +
        "TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}");

    internal static ServiceSpec SpecOf(Service service) => service.Spec ?? new ServiceSpec();

    internal static bool IsHeadless(ServiceSpec spec) => spec.ClusterIPs is [ClusterIPNone];
}
