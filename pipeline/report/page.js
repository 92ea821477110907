const specs = JSON.parse(document.getElementById('flopsheet-specs').textContent);
window.flopsheetViews = {};
window.flopsheetReady = Promise.all(Object.keys(specs).sort().map((name) =>
  vegaEmbed('#chart-' + name, specs[name], {actions: false, renderer: 'svg'}).then((result) => {
    window.flopsheetViews[name] = result.view;
  })
)).then(() => { document.body.dataset.chartsReady = 'true'; });

for (const table of document.querySelectorAll('table.sortable')) {
  const body = table.tBodies[0];
  const filter = document.getElementById(table.id + '-filter');
  const counter = document.getElementById(table.id + '-count');
  const rows = Array.from(body.rows);
  const applyFilter = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const text = row.textContent.toLowerCase();
      const hit = words.every((word) => text.includes(word));
      row.hidden = !hit;
      if (hit) shown += 1;
    }
    counter.textContent = shown + ' of ' + rows.length + ' rows';
  };
  filter.addEventListener('input', applyFilter);
  table.tHead.querySelectorAll('th').forEach((th, column) => {
    const sort = () => {
      const descending = th.getAttribute('aria-sort') === 'ascending';
      table.tHead.querySelectorAll('th').forEach((other) => other.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      const key = (row) => {
        const cell = row.cells[column];
        return cell.dataset.sort !== undefined ? Number(cell.dataset.sort) : cell.textContent;
      };
      const sorted = rows.map((row, index) => [key(row), index, row]).sort((a, b) => {
        const [x, y] = [a[0], b[0]];
        let order;
        if (typeof x === 'number' && typeof y === 'number') order = x - y;
        else if (typeof x === 'number') order = -1;
        else if (typeof y === 'number') order = 1;
        else if (x === '' || y === '') order = (x === '') - (y === '');
        else order = x.localeCompare(y);
        return (descending ? -order : order) || a[1] - b[1];
      });
      for (const [, , row] of sorted) body.appendChild(row);
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', (event) => { if (event.key === 'Enter') sort(); });
  });
}
