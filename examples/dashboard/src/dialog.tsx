// A modal dialog on the native <dialog> element: the browser makes the rest of
// the page inert and keeps Tab inside it. This component adds what the element
// leaves to the page: React owns whether it is open, Escape asks the owner to
// close it, focus goes to the element marked data-autofocus (or the first
// control) on open and back to whatever had it before on close.
import { useEffect, useId, useRef, type ReactNode } from 'react';

/** Props of Dialog. */
export interface DialogProps {
  open: boolean;
  title: string;
  /** Called when the user dismisses the dialog (Escape); the owner decides whether to close it. */
  onDismiss: () => void;
  children: ReactNode;
  /** Extra text read out after the title. */
  description?: ReactNode;
  /** Set while a request is running: Escape is ignored so a half-sent request is not hidden. */
  busy?: boolean;
  className?: string;
  /**
   * Where focus goes on close when the control that opened the dialog is gone
   * or disabled (a deleted row's button, a restored backup's Restore button).
   */
  fallbackFocus?: () => HTMLElement | null;
}

const focusable = 'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

function usable(el: Element | null): el is HTMLElement {
  return el instanceof HTMLElement && el.isConnected && !(el as HTMLButtonElement).disabled;
}

/** A modal dialog labelled by its title and described by its description. */
export function Dialog({ open, title, onDismiss, children, description, busy, className, fallbackFocus }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const titleId = useId();
  const descriptionId = useId();
  const fallback = useRef(fallbackFocus);
  fallback.current = fallbackFocus;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog || !open) return;
    opener.current = document.activeElement;
    if (!dialog.open) dialog.showModal();
    const target = dialog.querySelector<HTMLElement>('[data-autofocus]') ?? dialog.querySelector<HTMLElement>(focusable);
    target?.focus();
    return () => {
      if (dialog.open) dialog.close();
      // Return focus to the control that opened the dialog, if it is still
      // there and usable; otherwise the browser would drop it on <body>.
      // Deferred a frame so the owner's state change (a row removed, a
      // button disabled) has reached the DOM before we look.
      const back = opener.current;
      setTimeout(() => {
        if (usable(back)) back.focus();
        else fallback.current?.()?.focus();
      }, 0);
    };
  }, [open]);

  if (!open) return null;
  return (
    <dialog
      ref={ref}
      className={['dialog', className].filter(Boolean).join(' ')}
      aria-labelledby={titleId}
      aria-describedby={description ? descriptionId : undefined}
      onCancel={(e) => {
        // The browser would close the element itself; let the owner decide.
        e.preventDefault();
        if (!busy) onDismiss();
      }}
    >
      <h3 id={titleId} className="dialog__title">
        {title}
      </h3>
      {description ? (
        <p id={descriptionId} className="dialog__description">
          {description}
        </p>
      ) : null}
      {children}
    </dialog>
  );
}
