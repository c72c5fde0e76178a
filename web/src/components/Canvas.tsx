import {
  Background,
  type Connection,
  Controls,
  type Edge,
  type EdgeTypes,
  type FinalConnectionState,
  MiniMap,
  type NodeChange,
  type NodeTypes,
  Panel,
  ReactFlow,
  type ReactFlowInstance,
  useReactFlow,
} from "@xyflow/react";
import { type DragEvent, useMemo, useRef, useState } from "react";
import * as build from "../model/builders";
import { applyOverrides, type Drag, type DragStop, dragStop, overridesFrom } from "../model/canvasDrag";
import { attachTarget, decodeItem, dropEdit, MIME } from "../model/drop";
import { nameOf } from "../model/elementKey";
import { type FlowNode, type MemberEdge as MemberEdgeType, stableFlow } from "../model/graph";
import { openingViewport } from "../model/viewport";
import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { Confirm } from "./Confirm";
import { DeckyNode } from "./DeckyNode";
import { LanNode } from "./LanNode";
import { MemberEdge } from "./MemberEdge";
import { PathOverlay } from "./PathOverlay";
import { SearchBox } from "./SearchBox";

const nodeTypes: NodeTypes = { lan: LanNode, decky: DeckyNode };
const edgeTypes: EdgeTypes = { member: MemberEdge };
// Cards never rendered (off screen) have no measured size: fit by their declared one.
const FIT = { maxZoom: 1.25, padding: 0.05, includeHiddenNodes: true };

/** Where a mouse or touch gesture ended, on screen. */
function pointOf(e: MouseEvent | TouchEvent): { x: number; y: number } | null {
  if ("changedTouches" in e) {
    const touch = e.changedTouches[0];
    return touch ? { x: touch.clientX, y: touch.clientY } : null;
  }
  return { x: e.clientX, y: e.clientY };
}

export function Canvas({ view }: { view: EditorView }) {
  const selection = useStore((s) => s.selection);
  const select = useStore((s) => s.select);
  const edit = useStore((s) => s.edit);
  const moveElement = useStore((s) => s.moveElement);
  const say = useStore((s) => s.say);
  const { screenToFlowPosition } = useReactFlow();
  const box = useRef<HTMLDivElement>(null);
  const [flowOf] = useState(stableFlow);
  const [drag, setDrag] = useState<Drag | null>(null);
  const [asking, setAsking] = useState<Extract<DragStop, { kind: "home" }> | null>(null);
  const t = view.projection.topology;
  const selected = useMemo(() => new Set(selection), [selection]);

  const flow = useMemo(
    () =>
      flowOf({
        topology: t,
        layout: view.layout,
        marks: view.projection.marks,
        issues: view.issues,
        states: view.states,
        editable: view.editable,
        selection: selected,
      }),
    [flowOf, t, view, selected],
  );
  const nodes = applyOverrides(flow.nodes, drag);

  // The whole maze when it reads at that zoom, else a readable zoom on its top left (the DMZ);
  // set once the canvas has its size, without rendering every card first to fit them.
  const onInit = (rf: ReactFlowInstance<FlowNode, MemberEdgeType>): void => {
    const size = box.current?.getBoundingClientRect();
    if (size) void rf.setViewport(openingViewport(view.layout, { width: size.width, height: size.height }));
  };

  const onNodesChange = (changes: NodeChange<FlowNode>[]): void => {
    const over = overridesFrom(changes, drag?.base === flow.nodes ? drag.over : {});
    setDrag({ base: flow.nodes, over });
    for (const c of changes) if (c.type === "select" && c.selected) select(c.id);
  };

  const moveHome = (m: Extract<DragStop, { kind: "home" }>): void => void edit(build.moveHome(t, m.decky, m.lan, m.canvas, view.live));

  const onNodeDragStop = (_e: unknown, node: FlowNode): void => {
    const stop = dragStop(t, view.layout, node, view.live);
    if (!stop) return;
    if (stop.kind === "layout") void moveElement(stop.element, stop.name, stop.canvas);
    else if (stop.confirm) setAsking(stop);
    else moveHome(stop);
  };

  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    const item = decodeItem(e.dataTransfer.getData(MIME));
    if (!item || !view.editable) return;
    const result = dropEdit(item, screenToFlowPosition({ x: e.clientX, y: e.clientY }), t, view.layout);
    if ("error" in result) say("warning", result.error);
    else void edit(result.edit);
  };

  const onConnect = (c: Connection): void => {
    const decky = nameOf(c.source, "decky");
    const lan = nameOf(c.target, "lan");
    if (decky && lan) void edit(build.attach(t, decky, lan));
  };

  // A handle let go anywhere over another LAN's box (not only on its small target handle).
  const onConnectEnd = (e: MouseEvent | TouchEvent, state: FinalConnectionState): void => {
    const decky = nameOf(state.fromNode?.id, "decky");
    const at = pointOf(e);
    if (state.isValid || !decky || !at) return;
    const lan = attachTarget(t, view.layout, decky, screenToFlowPosition(at));
    if (lan) void edit(build.attach(t, decky, lan));
  };

  const isValidConnection = (c: Connection | Edge): boolean => {
    const lan = nameOf(c.target, "lan");
    const d = t.deckies.find((x) => x.name === nameOf(c.source, "decky"));
    return !!d && lan !== null && !d.memberships.some((m) => m.lan === lan);
  };

  return (
    <div className="canvas" ref={box} data-testid="canvas" onDragOver={(e) => e.preventDefault()}>
      <ReactFlow<FlowNode, MemberEdgeType>
        nodes={nodes}
        edges={flow.edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        zIndexMode="manual"
        onInit={onInit}
        onNodesChange={onNodesChange}
        onNodeDragStop={onNodeDragStop}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        onPaneClick={() => select(null)}
        onDrop={onDrop}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = "copy";
        }}
        nodesDraggable={view.editable}
        nodesConnectable={view.editable}
        deleteKeyCode={null}
        selectionKeyCode={null}
        multiSelectionKeyCode={null}
        onlyRenderVisibleElements
        minZoom={0.05}
        maxZoom={2}
      >
        <Background gap={24} />
        <PathOverlay />
        <Panel position="top-right">
          <SearchBox view={view} />
        </Panel>
        <MiniMap pannable zoomable nodeStrokeWidth={2} nodeColor={(n) => (n.type === "lan" ? "#c9d4ee" : "#8d98b3")} />
        <Controls showInteractive={false} fitViewOptions={FIT} />
      </ReactFlow>
      {asking && (
        <Confirm
          title={`Move ${asking.decky} to ${asking.lan}?`}
          confirm="Stage the move"
          danger
          onCancel={() => {
            setAsking(null);
            setDrag(null); // the card goes back where it was
          }}
          onConfirm={() => {
            setAsking(null);
            moveHome(asking);
          }}
        >
          <p>{asking.confirm}</p>
        </Confirm>
      )}
    </div>
  );
}
