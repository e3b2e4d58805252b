using Berth.Controllers.GarbageCollector;
using static Berth.Controllers.Tests.GarbageCollector.ExpectedNode;
using static Berth.Controllers.Tests.GarbageCollector.GcHarness;

namespace Berth.Controllers.Tests.GarbageCollector;

/// <summary>
/// Upstream garbagecollector_test.go TestConflictingData: owner references that disagree with the owners' real
/// coordinates (another namespace, a cluster-scoped child naming a namespaced owner, a version no longer served, a
/// wrong kind for an existing uid). Each scenario feeds graph events and queue steps one by one and checks the
/// client calls, the graph, the queues, the absent-owner cache and the Events after each, as upstream's table does.
/// Not ported: the rbac v1/v1beta1 scenario (Berth serves one version per kind) and the one that reorders pending
/// graph changes (insertEvent).
/// </summary>
public sealed class ConflictingDataTests
{
    private static readonly ObjectIdentity s_pod1ns1 = Id("v1", "Pod", "ns1", "podname1", "poduid1");
    private static readonly ObjectIdentity s_pod2ns1 = Id("v1", "Pod", "ns1", "podname2", "poduid2");
    private static readonly ObjectIdentity s_pod2ns2 = Id("v1", "Pod", "ns2", "podname2", "poduid2");
    private static readonly ObjectIdentity s_node1 = Id("v1", "Node", "", "nodename", "nodeuid1");
    private static readonly ObjectIdentity s_deployment1apps = Id("apps/v1", "Deployment", "ns1", "deployment1", "deploymentuid1");
    // Not served, still referenced.
    private static readonly ObjectIdentity s_deployment1extensions = Id("extensions/v1beta1", "Deployment", "ns1", "deployment1", "deploymentuid1");
    // A reference to node1 from a namespaced object makes a virtual node with that namespace.
    private static readonly ObjectIdentity s_node1WithNamespace = Id("v1", "Node", "ns1", "nodename", "nodeuid1");
    // A reference to pod1 from a cluster-scoped object makes a virtual node without a namespace.
    private static readonly ObjectIdentity s_pod1nonamespace = Id("v1", "Pod", "", "podname1", "poduid1");
    private static readonly ObjectIdentity s_badSecretReferenceWithDeploymentUid = Id("v1", "Secret", "ns1", "secretname", "deploymentuid1");
    private static readonly ObjectIdentity s_badChildPod = Id("v1", "Pod", "ns1", "badpod", "badpoduid");
    private static readonly ObjectIdentity s_goodChildPod = Id("v1", "Pod", "ns1", "goodpod", "goodpoduid");

    private static readonly Dictionary<string, Step[]> s_scenarios = new()
    {
        ["good child in ns1 -> cluster-scoped owner"] =
        [
            Create(s_node1),
            Create(s_pod1ns1, s_node1),
            // observe namespaced child with not-yet-observed cluster-scoped parent
            Event(AddEvent(s_pod1ns1, s_node1)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_node1), Virtual(s_node1WithNamespace)],
                PendingAttemptToDelete: [Virtual(s_node1WithNamespace)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=nodes name=nodename"],
                GraphNodes: [Node(s_pod1ns1, s_node1), Virtual(s_node1WithNamespace)],
                PendingAttemptToDelete: [Virtual(s_node1WithNamespace)])), // still not observed: requeued
            // observe cluster-scoped parent
            Event(AddEvent(s_node1)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_node1), Node(s_node1)], // observed, namespace coordinate fixed
                PendingAttemptToDelete: [Virtual(s_node1WithNamespace)])),
            AttemptToDelete(1),
            Expect(new State(GraphNodes: [Node(s_pod1ns1, s_node1), Node(s_node1)])),
        ],
        ["bad child in ns1 -> owner in ns2 (child first)"] =
        [
            Create(s_pod1ns1, s_pod2ns1),
            Create(s_pod2ns2),
            Event(AddEvent(s_pod1ns1, s_pod2ns2)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_pod2ns2), Virtual(s_pod2ns1)],
                PendingAttemptToDelete: [Virtual(s_pod2ns1)])),
            Event(AddEvent(s_pod2ns2)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_pod2ns2), Node(s_pod2ns2)],
                PendingAttemptToDelete: [Virtual(s_pod2ns1), Node(s_pod1ns1)],
                Events: ["Warning OwnerRefInvalidNamespace ownerRef [v1/Pod, namespace: ns1, name: podname2, uid: poduid2] does not exist in namespace \"ns1\" involvedObject{kind=Pod,apiVersion=v1}"])),
            AttemptToDelete(1),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_pod2ns2), Node(s_pod2ns2)],
                PendingAttemptToDelete: [Node(s_pod1ns1)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions:
                [
                    "get /v1, Resource=pods ns=ns1 name=podname1", // lookup of pod1 pre-delete
                    "get /v1, Resource=pods ns=ns1 name=podname2", // verification bad parent reference is absent
                    "delete /v1, Resource=pods ns=ns1 name=podname1",
                ],
                GraphNodes: [Node(s_pod1ns1, s_pod2ns2), Node(s_pod2ns2)],
                AbsentOwnerCache: [s_pod2ns1])),
            Event(DeleteEvent(s_pod1ns1)),
            Expect(new State(GraphNodes: [Node(s_pod2ns2)], AbsentOwnerCache: [s_pod2ns1])),
        ],
        ["bad child in ns1 -> owner in ns2 (owner first)"] =
        [
            Create(s_pod1ns1, s_pod2ns1),
            Create(s_pod2ns2),
            Event(AddEvent(s_pod2ns2)),
            Expect(new State(GraphNodes: [Node(s_pod2ns2)])),
            Event(AddEvent(s_pod1ns1, s_pod2ns1)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_pod2ns1), Node(s_pod2ns2)],
                PendingAttemptToDelete: [Node(s_pod1ns1)],
                Events: ["Warning OwnerRefInvalidNamespace ownerRef [v1/Pod, namespace: ns1, name: podname2, uid: poduid2] does not exist in namespace \"ns1\" involvedObject{kind=Pod,apiVersion=v1}"])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions:
                [
                    "get /v1, Resource=pods ns=ns1 name=podname1",
                    "get /v1, Resource=pods ns=ns1 name=podname2",
                    "delete /v1, Resource=pods ns=ns1 name=podname1",
                ],
                GraphNodes: [Node(s_pod1ns1, s_pod2ns1), Node(s_pod2ns2)],
                AbsentOwnerCache: [s_pod2ns1])),
            Event(DeleteEvent(s_pod1ns1)),
            Expect(new State(GraphNodes: [Node(s_pod2ns2)], AbsentOwnerCache: [s_pod2ns1])),
        ],
        ["bad cluster-scoped child -> owner in ns1 (child first)"] =
        [
            Create(s_node1, s_pod1ns1),
            Create(s_pod1ns1),
            Event(AddEvent(s_node1, s_pod1ns1)),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Virtual(s_pod1nonamespace)],
                PendingAttemptToDelete: [Virtual(s_pod1nonamespace)])),
            AttemptToDelete(1),
            // A namespaced virtual owner without a namespace coordinate: not requeued, nothing asked.
            Expect(new State(GraphNodes: [Node(s_node1, s_pod1nonamespace), Virtual(s_pod1nonamespace)])),
            Event(AddEvent(s_pod1ns1)),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod1ns1)],
                Events: ["Warning OwnerRefInvalidNamespace ownerRef [v1/Pod, namespace: , name: podname1, uid: poduid1] does not exist in namespace \"\" involvedObject{kind=Node,apiVersion=v1}"],
                PendingAttemptToDelete: [Node(s_node1, s_pod1ns1)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=nodes name=nodename"],
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod1ns1)])),
        ],
        ["bad cluster-scoped child -> owner in ns1 (owner first)"] =
        [
            Create(s_node1, s_pod1ns1),
            Create(s_pod1ns1),
            Event(AddEvent(s_pod1ns1)),
            Expect(new State(GraphNodes: [Node(s_pod1ns1)])),
            Event(AddEvent(s_node1, s_pod1ns1)),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod1ns1)],
                Events: ["Warning OwnerRefInvalidNamespace ownerRef [v1/Pod, namespace: , name: podname1, uid: poduid1] does not exist in namespace \"\" involvedObject{kind=Node,apiVersion=v1}"],
                PendingAttemptToDelete: [Node(s_node1, s_pod1ns1)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=nodes name=nodename"],
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod1ns1)])),
        ],
        ["child -> existing owner with inaccessible API version (child first)"] =
        [
            Create(s_deployment1apps),
            Create(s_pod1ns1, s_deployment1extensions),
            Event(AddEvent(s_pod1ns1, s_deployment1extensions)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Virtual(s_deployment1extensions)],
                PendingAttemptToDelete: [Virtual(s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Virtual(s_deployment1extensions)],
                PendingAttemptToDelete: [Virtual(s_deployment1extensions)])), // requeued on the REST mapping error
            Event(AddEvent(s_deployment1apps)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Node(s_deployment1apps)],
                PendingAttemptToDelete: [Virtual(s_deployment1extensions), Node(s_pod1ns1, s_deployment1extensions)])),
            // The virtual node is dropped with no further action: the real one has been observed.
            AttemptToDelete(1),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Node(s_deployment1apps)],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=podname1"],
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Node(s_deployment1apps)],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions)])), // still queued: REST mapping error
            DeleteFromClient(s_deployment1apps),
            Event(DeleteEvent(s_deployment1apps)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=podname1"],
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions)])),
        ],
        ["child -> existing owner with inaccessible API version (owner first)"] =
        [
            Create(s_deployment1apps),
            Create(s_pod1ns1, s_deployment1extensions),
            Event(AddEvent(s_deployment1apps)),
            Expect(new State(GraphNodes: [Node(s_deployment1apps)])),
            Event(AddEvent(s_pod1ns1, s_deployment1extensions)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Node(s_deployment1apps)],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=podname1"],
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Node(s_deployment1apps)],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions)])),
            DeleteFromClient(s_deployment1apps),
            Event(DeleteEvent(s_deployment1apps)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=podname1"],
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions)])),
        ],
        ["child -> non-existent owner with inaccessible API version (inaccessible parent apiVersion first)"] =
        [
            Create(s_pod1ns1, s_deployment1extensions),
            Create(s_pod2ns1, s_deployment1apps),
            Event(AddEvent(s_pod1ns1, s_deployment1extensions)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Virtual(s_deployment1extensions)],
                PendingAttemptToDelete: [Virtual(s_deployment1extensions)])),
            Event(AddEvent(s_pod2ns1, s_deployment1apps)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Virtual(s_deployment1extensions), Node(s_pod2ns1, s_deployment1apps)],
                PendingAttemptToDelete: [Virtual(s_deployment1extensions), Node(s_pod2ns1, s_deployment1apps)])),
            AttemptToDelete(1),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Virtual(s_deployment1extensions), Node(s_pod2ns1, s_deployment1apps)],
                PendingAttemptToDelete: [Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1extensions)])), // requeued to the end
            AttemptToDelete(1),
            Expect(new State(
                ClientActions:
                [
                    "get /v1, Resource=pods ns=ns1 name=podname2",
                    "get apps/v1, Resource=deployments ns=ns1 name=deployment1",
                    "delete /v1, Resource=pods ns=ns1 name=podname2",
                ],
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Virtual(s_deployment1extensions), Node(s_pod2ns1, s_deployment1apps)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Virtual(s_deployment1extensions)])),
            Event(DeleteEvent(s_pod2ns1)),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Virtual(s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Virtual(s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                GraphNodes: [Node(s_pod1ns1, s_deployment1extensions), Virtual(s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Virtual(s_deployment1extensions)])),
        ],
        ["child -> non-existent owner with inaccessible API version (accessible parent apiVersion first)"] =
        [
            Create(s_pod1ns1, s_deployment1extensions),
            Create(s_pod2ns1, s_deployment1apps),
            Event(AddEvent(s_pod2ns1, s_deployment1apps)),
            Expect(new State(
                GraphNodes: [Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1apps)],
                PendingAttemptToDelete: [Virtual(s_deployment1apps)])),
            Event(AddEvent(s_pod1ns1, s_deployment1extensions)),
            Expect(new State(
                GraphNodes: [Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1apps), Node(s_pod1ns1, s_deployment1extensions)],
                PendingAttemptToDelete: [Virtual(s_deployment1apps), Node(s_pod1ns1, s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get apps/v1, Resource=deployments ns=ns1 name=deployment1"], // 404
                PendingGraphChanges: [VirtualDeleteEvent(s_deployment1apps)],
                GraphNodes: [Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1apps), Node(s_pod1ns1, s_deployment1extensions)],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=podname1"],
                PendingGraphChanges: [VirtualDeleteEvent(s_deployment1apps)],
                GraphNodes: [Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1apps), Node(s_pod1ns1, s_deployment1extensions)],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions)])),
            GraphChanges(1),
            Expect(new State(
                // The deployment node takes the alternative identity its other dependent uses.
                GraphNodes: [Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1extensions), Node(s_pod1ns1, s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions), Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=podname1"],
                GraphNodes: [Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1extensions), Node(s_pod1ns1, s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1extensions), Node(s_pod1ns1, s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=podname2", "delete /v1, Resource=pods ns=ns1 name=podname2"],
                GraphNodes: [Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1extensions), Node(s_pod1ns1, s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Virtual(s_deployment1extensions), Node(s_pod1ns1, s_deployment1extensions)])),
            AttemptToDelete(1),
            Expect(new State(
                GraphNodes: [Node(s_pod2ns1, s_deployment1apps), Virtual(s_deployment1extensions), Node(s_pod1ns1, s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions), Virtual(s_deployment1extensions)])),
            Event(DeleteEvent(s_pod2ns1)),
            Expect(new State(
                GraphNodes: [Virtual(s_deployment1extensions), Node(s_pod1ns1, s_deployment1extensions)],
                AbsentOwnerCache: [s_deployment1apps],
                PendingAttemptToDelete: [Node(s_pod1ns1, s_deployment1extensions), Virtual(s_deployment1extensions)])),
        ],
        ["bad child -> existing owner with incorrect API version (bad child, good child, bad parent delete, good parent)"] =
        [
            Create(s_deployment1apps),
            Create(s_badChildPod, s_badSecretReferenceWithDeploymentUid),
            Create(s_goodChildPod, s_deployment1apps),
            Event(AddEvent(s_badChildPod, s_badSecretReferenceWithDeploymentUid)),
            Expect(new State(
                GraphNodes: [Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid), Virtual(s_badSecretReferenceWithDeploymentUid)],
                PendingAttemptToDelete: [Virtual(s_badSecretReferenceWithDeploymentUid)])),
            Event(AddEvent(s_goodChildPod, s_deployment1apps)),
            Expect(new State(
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid), Virtual(s_badSecretReferenceWithDeploymentUid)],
                PendingAttemptToDelete: [Virtual(s_badSecretReferenceWithDeploymentUid), Node(s_goodChildPod, s_deployment1apps)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=secrets ns=ns1 name=secretname"],
                PendingGraphChanges: [VirtualDeleteEvent(s_badSecretReferenceWithDeploymentUid)],
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid), Virtual(s_badSecretReferenceWithDeploymentUid)],
                PendingAttemptToDelete: [Node(s_goodChildPod, s_deployment1apps)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=goodpod", "get apps/v1, Resource=deployments ns=ns1 name=deployment1"],
                PendingGraphChanges: [VirtualDeleteEvent(s_badSecretReferenceWithDeploymentUid)],
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid), Virtual(s_badSecretReferenceWithDeploymentUid)])),
            GraphChanges(1),
            Expect(new State(
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid), Virtual(s_deployment1apps)],
                AbsentOwnerCache: [s_badSecretReferenceWithDeploymentUid],
                PendingAttemptToDelete: [Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid), Virtual(s_deployment1apps)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=badpod", "delete /v1, Resource=pods ns=ns1 name=badpod"],
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid), Virtual(s_deployment1apps)],
                AbsentOwnerCache: [s_badSecretReferenceWithDeploymentUid],
                PendingAttemptToDelete: [Virtual(s_deployment1apps)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get apps/v1, Resource=deployments ns=ns1 name=deployment1"],
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid), Virtual(s_deployment1apps)],
                AbsentOwnerCache: [s_badSecretReferenceWithDeploymentUid],
                PendingAttemptToDelete: [Virtual(s_deployment1apps)])), // requeued, not observed yet
            Event(AddEvent(s_deployment1apps)),
            Expect(new State(
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid), Node(s_deployment1apps)],
                AbsentOwnerCache: [s_badSecretReferenceWithDeploymentUid],
                PendingAttemptToDelete: [Node(s_deployment1apps)])), // still queued, no longer virtual
            Event(DeleteEvent(s_badChildPod, s_badSecretReferenceWithDeploymentUid)),
            Expect(new State(
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_deployment1apps)],
                AbsentOwnerCache: [s_badSecretReferenceWithDeploymentUid],
                PendingAttemptToDelete: [Node(s_deployment1apps)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get apps/v1, Resource=deployments ns=ns1 name=deployment1"],
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_deployment1apps)],
                AbsentOwnerCache: [s_badSecretReferenceWithDeploymentUid])),
        ],
        ["bad child -> existing owner with incorrect API version (good child, bad child, good parent)"] =
        [
            Create(s_deployment1apps),
            Create(s_badChildPod, s_badSecretReferenceWithDeploymentUid),
            Create(s_goodChildPod, s_deployment1apps),
            Event(AddEvent(s_goodChildPod, s_deployment1apps)),
            Expect(new State(
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Virtual(s_deployment1apps)],
                PendingAttemptToDelete: [Virtual(s_deployment1apps)])),
            Event(AddEvent(s_badChildPod, s_badSecretReferenceWithDeploymentUid)),
            Expect(new State(
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Virtual(s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid)],
                PendingAttemptToDelete: [Virtual(s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get apps/v1, Resource=deployments ns=ns1 name=deployment1"],
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Virtual(s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid)],
                PendingAttemptToDelete: [Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid), Virtual(s_deployment1apps)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions:
                [
                    "get /v1, Resource=pods ns=ns1 name=badpod",
                    "get /v1, Resource=secrets ns=ns1 name=secretname", // 404
                    "delete /v1, Resource=pods ns=ns1 name=badpod",
                ],
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Virtual(s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid)],
                AbsentOwnerCache: [s_badSecretReferenceWithDeploymentUid],
                PendingAttemptToDelete: [Virtual(s_deployment1apps)])),
            Event(AddEvent(s_deployment1apps)),
            Expect(new State(
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_deployment1apps), Node(s_badChildPod, s_badSecretReferenceWithDeploymentUid)],
                AbsentOwnerCache: [s_badSecretReferenceWithDeploymentUid],
                PendingAttemptToDelete: [Node(s_deployment1apps)])),
            Event(DeleteEvent(s_badChildPod, s_badSecretReferenceWithDeploymentUid)),
            Expect(new State(
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_deployment1apps)],
                AbsentOwnerCache: [s_badSecretReferenceWithDeploymentUid],
                PendingAttemptToDelete: [Node(s_deployment1apps)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get apps/v1, Resource=deployments ns=ns1 name=deployment1"],
                GraphNodes: [Node(s_goodChildPod, s_deployment1apps), Node(s_deployment1apps)],
                AbsentOwnerCache: [s_badSecretReferenceWithDeploymentUid])),
        ],
        // Upstream issue 98040.
        ["cluster-scoped bad child, namespaced good child, missing parent"] =
        [
            Create(s_pod2ns1, s_pod1ns1),
            Create(s_node1, s_pod1nonamespace),
            Event(AddEvent(s_node1, s_pod1nonamespace)),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Virtual(s_pod1nonamespace)],
                PendingAttemptToDelete: [Virtual(s_pod1nonamespace)])),
            Event(AddEvent(s_pod2ns1, s_pod1ns1)),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1nonamespace)],
                PendingAttemptToDelete: [Virtual(s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1)])),
            AttemptToDelete(1),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1nonamespace)],
                PendingAttemptToDelete: [Node(s_pod2ns1, s_pod1ns1)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions:
                [
                    "get /v1, Resource=pods ns=ns1 name=podname2",
                    "get /v1, Resource=pods ns=ns1 name=podname1", // 404
                    "delete /v1, Resource=pods ns=ns1 name=podname2",
                ],
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1nonamespace)],
                AbsentOwnerCache: [s_pod1ns1])),
            // Steady state: the bad cluster-scoped child and the bad virtual parent, with no retries.
            Event(DeleteEvent(s_pod2ns1, s_pod1ns1)),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Virtual(s_pod1nonamespace)],
                AbsentOwnerCache: [s_pod1ns1])),
        ],
        ["cluster-scoped bad child, namespaced good child, late observed parent"] =
        [
            Create(s_pod1ns1),
            Create(s_pod2ns1, s_pod1ns1),
            Create(s_node1, s_pod1nonamespace),
            Event(AddEvent(s_node1, s_pod1nonamespace)),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Virtual(s_pod1nonamespace)],
                PendingAttemptToDelete: [Virtual(s_pod1nonamespace)])),
            Event(AddEvent(s_pod2ns1, s_pod1ns1)),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1nonamespace)],
                PendingAttemptToDelete: [Virtual(s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1)])),
            AttemptToDelete(1),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1nonamespace)],
                PendingAttemptToDelete: [Node(s_pod2ns1, s_pod1ns1)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=podname2", "get /v1, Resource=pods ns=ns1 name=podname1"],
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1nonamespace)])),
            Event(AddEvent(s_pod1ns1)),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Node(s_pod1ns1)],
                Events: ["Warning OwnerRefInvalidNamespace ownerRef [v1/Pod, namespace: , name: podname1, uid: poduid1] does not exist in namespace \"\" involvedObject{kind=Node,apiVersion=v1}"],
                PendingAttemptToDelete: [Node(s_node1, s_pod1nonamespace)])),
            // Steady state: the bad cluster-scoped child stays, with no retries.
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=nodes name=nodename"],
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Node(s_pod1ns1)])),
        ],
        ["namespaced good child, cluster-scoped bad child, missing parent"] =
        [
            Create(s_pod2ns1, s_pod1ns1),
            Create(s_node1, s_pod1nonamespace),
            Event(AddEvent(s_pod2ns1, s_pod1ns1)),
            Expect(new State(
                GraphNodes: [Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1ns1)],
                PendingAttemptToDelete: [Virtual(s_pod1ns1)])),
            Event(AddEvent(s_node1, s_pod1nonamespace)),
            Expect(new State(
                GraphNodes: [Node(s_pod2ns1, s_pod1ns1), Node(s_node1, s_pod1nonamespace), Virtual(s_pod1ns1)],
                PendingAttemptToDelete: [Virtual(s_pod1ns1), Node(s_node1, s_pod1nonamespace)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=podname1"], // 404
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1ns1)],
                PendingGraphChanges: [VirtualDeleteEvent(s_pod1ns1)],
                PendingAttemptToDelete: [Node(s_node1, s_pod1nonamespace)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=nodes name=nodename"],
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1ns1)],
                PendingGraphChanges: [VirtualDeleteEvent(s_pod1ns1)])),
            GraphChanges(1),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1nonamespace)],
                AbsentOwnerCache: [s_pod1ns1],
                PendingAttemptToDelete: [Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1nonamespace)])),
            AttemptToDelete(1),
            Expect(new State(
                ClientActions: ["get /v1, Resource=pods ns=ns1 name=podname2", "delete /v1, Resource=pods ns=ns1 name=podname2"],
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Node(s_pod2ns1, s_pod1ns1), Virtual(s_pod1nonamespace)],
                AbsentOwnerCache: [s_pod1ns1],
                PendingAttemptToDelete: [Virtual(s_pod1nonamespace)])),
            Event(DeleteEvent(s_pod2ns1, s_pod1ns1)),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Virtual(s_pod1nonamespace)],
                AbsentOwnerCache: [s_pod1ns1],
                PendingAttemptToDelete: [Virtual(s_pod1nonamespace)])),
            AttemptToDelete(1),
            Expect(new State(
                GraphNodes: [Node(s_node1, s_pod1nonamespace), Virtual(s_pod1nonamespace)],
                AbsentOwnerCache: [s_pod1ns1])),
        ],
    };

    private delegate Task Step(GcHarness harness);

    public static TheoryData<string> Scenarios => [.. s_scenarios.Keys];

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Scenario_StepByStep_MatchesUpstream(string scenario)
    {
        await using var harness = new GcHarness();
        foreach (var step in s_scenarios[scenario])
        {
            await step(harness);
            harness.VerifyGraphInvariants();
        }
    }

    private static Step Create(ObjectIdentity identity, params ObjectIdentity[] owners) => harness =>
    {
        harness.Client.Create(identity, owners);
        return Task.CompletedTask;
    };

    private static Step DeleteFromClient(ObjectIdentity identity) => harness =>
    {
        harness.Client.Delete(identity);
        return Task.CompletedTask;
    };

    private static Step Event(GraphEvent change) => harness =>
    {
        harness.ProcessEvent(change);
        return Task.CompletedTask;
    };

    private static Step GraphChanges(int count) => harness =>
    {
        harness.ProcessPendingGraphChanges(count);
        return Task.CompletedTask;
    };

    private static Step AttemptToDelete(int count) => harness => harness.ProcessAttemptToDeleteAsync(count);

    private static Step Expect(State state) => harness => harness.AssertStateAsync(state);
}
