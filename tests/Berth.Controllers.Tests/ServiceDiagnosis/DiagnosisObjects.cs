using Berth.Api.Models;

namespace Berth.Controllers.Tests.ServiceDiagnosis;

/// <summary>Services, pods and slices in the states a node agent, scheduler and the slice controllers leave them.</summary>
internal static class DiagnosisObjects
{
    public static readonly Dictionary<string, string> Web = new() { ["app"] = "web" };

    public static readonly DateTimeOffset Started = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static Service Svc(string name = "web", Dictionary<string, string>? selector = null, bool selectorless = false,
        IntOrString? targetPort = null, string? protocol = null, bool publishNotReady = false, bool headlessWithoutPorts = false) => new()
        {
            Metadata = new ObjectMeta { Name = name, Namespace = "ns" },
            Spec = new ServiceSpec
            {
                Selector = selectorless ? null : new(selector ?? Web),
                ClusterIP = headlessWithoutPorts ? "None" : null,
                Ports = headlessWithoutPorts ? null : [new ServicePort { Name = "http", Port = 80, TargetPort = targetPort, Protocol = protocol ?? "TCP" }],
                PublishNotReadyAddresses = publishNotReady ? true : null,
            },
        };

    /// <summary>A pod bound to node n1 with an IP, running, Ready or not; container ports as name=number.</summary>
    public static Pod Running(string name, bool ready, string? readyMessage = null, params (string Name, int Port)[] ports)
    {
        var pod = Bound(name);
        pod.Spec!.Containers![0].Ports = [.. ports.Select(p => new ContainerPort { Name = p.Name, ContainerPortNumber = p.Port, Protocol = "TCP" })];
        pod.Status = new PodStatus
        {
            Phase = "Running",
            PodIP = "127.244.0.10",
            PodIPs = [new PodIP { Ip = "127.244.0.10" }],
            Conditions =
            [
                new PodCondition { Type = "PodScheduled", Status = "True" },
                new PodCondition
                {
                    Type = "Ready",
                    Status = ready ? "True" : "False",
                    Reason = ready ? null : "ContainersNotReady",
                    Message = ready ? null : readyMessage ?? "containers with unready status: [c]",
                },
            ],
            ContainerStatuses = [new ContainerStatus { Name = "c", Ready = ready, State = new ContainerState { Running = new ContainerStateRunning { StartedAt = Started } } }],
        };
        return pod;
    }

    public static Pod Unscheduled(string name, string? message)
    {
        var pod = New(name);
        pod.Status = new PodStatus
        {
            Phase = "Pending",
            Conditions = message is null ? null : [new PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = message }],
        };
        return pod;
    }

    public static Pod Waiting(string name, string reason, string? message)
    {
        var pod = Bound(name);
        pod.Status = new PodStatus
        {
            Phase = "Pending",
            PodIP = "127.244.0.11",
            Conditions = [new PodCondition { Type = "Ready", Status = "False", Reason = "ContainersNotReady", Message = "containers with unready status: [c]" }],
            ContainerStatuses = [new ContainerStatus { Name = "c", State = new ContainerState { Waiting = new ContainerStateWaiting { Reason = reason, Message = message } } }],
        };
        return pod;
    }

    public static Pod Finished(string name, string phase, string? reason, string? message)
    {
        var pod = Bound(name);
        pod.Status = new PodStatus { Phase = phase, Reason = reason, Message = message, PodIP = "127.244.0.12" };
        return pod;
    }

    public static Pod Terminating(Pod pod)
    {
        pod.Metadata!.DeletionTimestamp = Started;
        pod.Metadata.DeletionGracePeriodSeconds = 30;
        return pod;
    }

    public static Pod WithReadinessProbe(Pod pod, int initialDelaySeconds, int? periodSeconds)
    {
        pod.Spec!.Containers![0].ReadinessProbe = new Probe
        {
            HttpGet = new HTTPGetAction { Path = "/ready", Port = 80 },
            InitialDelaySeconds = initialDelaySeconds,
            PeriodSeconds = periodSeconds,
        };
        return pod;
    }

    public static EndpointSlice Slice(string service, params bool?[] ready) => new()
    {
        Metadata = new ObjectMeta { Name = service + "-abc", Namespace = "ns", Labels = new() { ["kubernetes.io/service-name"] = service } },
        AddressType = "IPv4",
        Endpoints = [.. ready.Select((r, i) => new Endpoint { Addresses = [$"10.0.0.{i + 1}"], Conditions = new EndpointConditions { Ready = r } })],
    };

    private static Pod Bound(string name)
    {
        var pod = New(name);
        pod.Spec!.NodeName = "n1";
        return pod;
    }

    private static Pod New(string name) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = "ns", Uid = "uid-" + name, Labels = new(Web) },
        Spec = new PodSpec { Containers = [new Container { Name = "c", Image = "busybox" }] },
    };
}
